from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def test_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the core test scanners available to policies by name."""
    import airisk.scanners as registry

    from support import TEST_SCANNERS

    monkeypatch.setattr(registry, "BUILTIN", {**registry.BUILTIN, **TEST_SCANNERS})
