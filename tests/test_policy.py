"""Policies as data: building pipelines, clear errors, round trips, company/agent merging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airisk import ScannerPipeline
from airisk.errors import PolicyError
from airisk.policy import Policy, ScannerSpec, merge_policies
from airisk.types import Verdict

pytestmark = pytest.mark.usefixtures("test_registry")

POLICY_YAML = """
version: 1
name: support-desk
input:
  - type: test_keyword
    keywords: [jailbreak]
    action: block
  - type: test_digits
    min_digits: 6
output:
  - type: test_digits
"""


def test_pipeline_from_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_YAML)
    pipeline = ScannerPipeline.from_policy(path)
    assert [s.name for s in pipeline.input] == ["test_keyword", "test_digits"]
    assert pipeline.scan_input("try this JAILBREAK").blocked
    assert pipeline.scan_input("id 1234567").sanitized_text == "id <NUM>"
    assert pipeline.scan_input("id 12345").verdict is Verdict.PASS


def test_pipeline_from_json_file_and_dict(tmp_path: Path) -> None:
    data = Policy.loads(POLICY_YAML).to_dict()
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(data))
    assert ScannerPipeline.from_policy(path).to_policy() == ScannerPipeline.from_policy(data).to_policy()


@pytest.mark.parametrize(
    "policy, field",
    [
        ({"input": [{"type": "test_digits", "min_digits": "many"}]}, "input[0].min_digits"),
        ({"input": [{"type": "test_keyword", "threshold": 3}]}, "input[0].threshold"),
        ({"input": [{"type": "test_keyword", "action": "redact"}]}, "input[0].action"),
        ({"input": [{"type": "test_keyword", "colour": "red"}]}, "input[0].colour"),
        ({"output": [{"type": "no_such_scanner"}]}, "output[0].type"),
        ({"input": [{"type": "test_keyword"}, {"type": "test_keyword"}]}, None),
        ({"version": 2}, "version"),
        ({"input": [{"type": "test_keyword", "locked": ["nope"]}]}, "input[0].locked"),
        ({"input": "regex"}, "input"),
    ],
)
def test_invalid_policy_names_the_field(policy: dict, field: str | None) -> None:
    with pytest.raises(PolicyError) as caught:
        Policy.from_dict(policy)
    if field:
        assert caught.value.field == field
        assert str(caught.value).startswith(field)
    else:
        assert "appears twice" in str(caught.value)


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("input:\n  - type: [unclosed\n")
    with pytest.raises(PolicyError, match="invalid YAML at line"):
        Policy.load(bad)
    with pytest.raises(PolicyError, match="not found"):
        Policy.load(tmp_path / "absent.yaml")
    with pytest.raises(PolicyError, match="mapping"):
        Policy.loads("- just a list")


def test_same_scanner_twice_with_ids() -> None:
    policy = Policy.from_dict(
        {"input": [{"type": "test_digits", "id": "long", "min_digits": 8}, {"type": "test_digits", "id": "short"}]}
    )
    assert len(policy.build().input) == 2


def test_merge_agent_overrides_company_but_not_locked_settings() -> None:
    company = Policy.from_dict(
        {
            "fail_closed": True,
            "locked": ["fail_closed"],
            "input": [
                {"type": "test_keyword", "keywords": ["secret"], "action": "block", "locked": ["action"]},
                {"type": "test_digits", "min_digits": 4},
            ],
        }
    )
    agent = Policy.from_dict(
        {
            "fail_closed": False,
            "input": [
                {"type": "test_keyword", "keywords": ["secret", "internal"], "action": "flag"},
                {"type": "test_digits", "min_digits": 8},
            ],
            "output": [{"type": "test_digits"}],
        }
    )
    merged, conflicts = merge_policies(company, agent)
    keyword = merged.input[0].settings
    assert keyword["keywords"] == ["secret", "internal"]  # agent overrides
    assert keyword["action"] == "block"  # company locked it
    assert merged.input[1].settings["min_digits"] == 8
    assert merged.fail_closed is True
    assert [s.type for s in merged.output] == ["test_digits"]  # agent-only scanner appended
    assert {c.field for c in conflicts} == {"fail_closed", "input[0].action"}
    with pytest.raises(PolicyError) as caught:
        merge_policies(company, agent, strict=True)
    assert caught.value.field in {"fail_closed", "input[0].action"}


def test_fully_locked_scanner_cannot_be_disabled() -> None:
    company = Policy.from_dict({"input": [{"type": "test_keyword", "locked": True}]})
    agent = Policy.from_dict({"input": [{"type": "test_keyword", "enabled": False}]})
    merged, conflicts = merge_policies(company, agent)
    assert merged.build().input[0].config.enabled is True
    assert conflicts[0].field == "input[0].enabled"


def test_agent_without_settings_keeps_company_defaults() -> None:
    company = Policy.from_dict({"early_exit": True, "input": [{"type": "test_digits", "min_digits": 5}]})
    merged, conflicts = merge_policies(company, Policy())
    assert merged.early_exit is True and merged.input[0].settings == {"min_digits": 5}
    assert conflicts == []


specs = st.one_of(
    st.builds(
        lambda n, a, t: {"type": "test_digits", "min_digits": n, "action": a, "threshold": t},
        st.integers(1, 20),
        st.sampled_from(["block", "flag", "redact"]),
        st.floats(0, 1, allow_nan=False),
    ),
    st.builds(
        lambda words, enabled, locked: {
            "type": "test_keyword", "keywords": words, "enabled": enabled, "locked": locked
        },
        st.lists(st.text(min_size=1, max_size=10), max_size=4),
        st.booleans(),
        st.one_of(st.booleans(), st.just(["threshold"])),
    ),
)


@given(
    st.lists(specs, max_size=2, unique_by=lambda s: s["type"]),
    st.lists(specs, max_size=2, unique_by=lambda s: s["type"]),
    st.booleans(),
    st.integers(1, 500),
)
def test_policy_round_trips_through_yaml_json_and_pipelines(inp: list, out: list, early: bool, hold: int) -> None:
    policy = Policy.from_dict({"input": inp, "output": out, "early_exit": early, "hold_back": hold})
    assert Policy.loads(policy.dumps()) == policy
    assert Policy.loads(policy.dumps(json_format=True), json_format=True) == policy
    rebuilt = policy.build().to_policy()
    assert Policy.loads(rebuilt.dumps()).build().to_policy() == rebuilt


@given(st.dictionaries(st.sampled_from(["min_digits", "threshold", "action"]), st.integers(1, 9), max_size=3))
def test_merge_never_changes_locked_values(agent_settings: dict) -> None:
    agent_settings = {
        k: (v / 10 if k == "threshold" else ("flag" if k == "action" else v)) for k, v in agent_settings.items()
    }
    company = Policy(input=[ScannerSpec(type="test_digits", locked=True, settings={"min_digits": 4, "threshold": 0.5})])
    agent = Policy(input=[ScannerSpec(type="test_digits", settings=agent_settings)])
    merged, _ = merge_policies(company, agent)
    assert merged.input[0].settings == {"min_digits": 4, "threshold": 0.5}


def test_build_shared_reuses_one_pipeline_per_distinct_policy() -> None:
    first = Policy.from_dict({"input": [{"type": "test_digits", "min_digits": 5}]})
    same = Policy.loads(first.dumps())
    other = Policy.from_dict({"input": [{"type": "test_digits", "min_digits": 6}]})
    assert first.build_shared() is same.build_shared()
    assert other.build_shared() is not first.build_shared()
    assert first.build_shared().scan_input("12345").sanitized_text == "<NUM>"


@pytest.mark.parametrize("name", __import__("airisk.scanners", fromlist=["available"]).available())
def test_every_scanner_refuses_bad_settings_with_one_error_that_hides_the_value(name: str) -> None:
    """Wrong settings raise ConfigurationError (PolicyError) naming the field, for every scanner
    alike, and never echo the value given (it may be a secret pasted into the wrong field)."""
    from airisk.errors import ConfigurationError, PolicyError
    from airisk.scanners import get_scanner_class

    secret = "sk-live-0123456789abcdefSECRET"
    with pytest.raises(ConfigurationError) as caught:
        get_scanner_class(name)(threshold=secret)
    assert isinstance(caught.value, PolicyError) and caught.value.field == "threshold"
    assert secret not in str(caught.value) and name in str(caught.value)
