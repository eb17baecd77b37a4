"""Lazy vendor SDK imports: an engine loads its SDK on first use, never at ``import airisk``."""

from __future__ import annotations

import importlib
from types import ModuleType

from airisk.errors import MissingDependencyError


def import_sdk(module: str, *, feature: str, extra: str, package: str) -> ModuleType:
    """Import a vendor SDK module or raise an error naming ``pip install 'airisk[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(feature, extra, package) from exc
