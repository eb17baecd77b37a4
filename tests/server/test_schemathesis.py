"""Property-based API tests from the OpenAPI document: no server errors, responses match the schema."""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def fuzzed(deployment_factory: Any) -> Any:
    from airisk.workspace import generate_secret_key

    return deployment_factory(rate_limit_per_minute=0, secret_key=generate_secret_key())


def test_api_conforms_to_its_openapi_document(fuzzed: Any) -> None:
    """Every operation, a bounded number of generated requests each, with an admin token."""
    from fastapi.testclient import TestClient
    from hypothesis import given

    with TestClient(fuzzed.app, base_url="http://127.0.0.1") as client:
        token = fuzzed.token(client)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzzed.app)
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def exercise(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        exercise()
