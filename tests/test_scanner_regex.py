"""Regex scanner: presets with their checks, allow exemptions, RE2 safety, redaction properties."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airisk.errors import ConfigurationError, PolicyError
from airisk.pipeline import ScannerPipeline
from airisk.scanners.regex import PRESET_GROUPS, PRESETS, Regex, expand_presets
from airisk.types import ScanContext, Verdict

CTX = ScanContext()
ALL = ["email", "credit_card", "iban", "phone", "ipv4", "secrets"]

# One realistic sample per preset; each must be found exactly, alone, by its own preset.
SAMPLES = {
    "email": "bob.smith+news@mail.example.co.uk",
    "credit_card": "4111 1111 1111 1111",
    "iban": "GB82 WEST 1234 5698 7654 32",
    "phone": "+44 20 7946 0958",
    "ipv4": "192.168.10.254",
    "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "github_token": "ghp_" + "aB3" * 12,
    "openai_api_key": "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12",
    "anthropic_api_key": "sk-ant-api03-Zx12Cv34Bn56Mq78Wr90Ty",
    "slack_token": "xoxb-123456789012-abcdefABCDEF",
    "google_api_key": "AIzaSy" + "x1Y2z3" * 5 + "abc",
    "stripe_key": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA=\n-----END OPENSSH PRIVATE KEY-----",
}


def found(scanner: Regex, text: str) -> list[tuple[str, str]]:
    return [(f.kind, text[f.start : f.end]) for f in scanner.scan(text, CTX).findings]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_preset_finds_its_sample_in_a_sentence(name: str) -> None:
    text = f"Please look at this: {SAMPLES[name]} and tell me."
    assert found(Regex(presets=[name]), text) == [(name, SAMPLES[name])]


def test_aws_secret_needs_context_and_reports_only_the_value() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    scanner = Regex(presets=["aws_secret"])
    assert found(scanner, f"aws_secret_access_key = {secret}\n") == [("aws_secret", secret)]
    assert found(scanner, f'"AWS_SECRET_KEY": "{secret}"') == [("aws_secret", secret)]
    assert found(scanner, f"some random base64 {secret} here") == []


def test_every_sample_has_a_preset_and_secrets_group_covers_tokens() -> None:
    assert set(SAMPLES) | {"aws_secret"} == set(PRESETS)
    assert "email" not in expand_presets(["secrets"])
    assert set(expand_presets(["secrets"])) == set(PRESET_GROUPS["secrets"])


@pytest.mark.parametrize(
    "number",
    [
        "4111 1111 1111 1112",  # Luhn fails
        "1234 5678 9012 3456",  # Luhn fails, no issuer
        "9111 1111 1111 1117",  # Luhn passes but no card scheme starts with 9
        "4111-1111 1111-1111",  # mixed separators
        "41111111111111111111111",  # too long: a reference number, not a card
    ],
)
def test_card_numbers_that_are_not_cards(number: str) -> None:
    assert found(Regex(presets=["credit_card"]), f"ref {number} ok") == []


def test_card_number_reports_luhn_and_never_the_value() -> None:
    text = "pay with 5500-0000-0000-0004 please"
    result = Regex(presets=["credit_card"]).scan(text, CTX)
    (finding,) = result.findings
    assert finding.detail == {"pattern": "credit_card", "preset": True, "validated": "luhn"}
    assert "5500" not in str(finding.detail)
    assert result.verdict is Verdict.BLOCK and result.score == 1.0


def test_random_sixteen_digit_numbers_rarely_match() -> None:
    import random

    rng = random.Random(7)
    scanner = Regex(presets=["credit_card"])
    hits = sum(bool(scanner.scan(f"id {rng.randrange(10**15, 10**16)}", CTX).findings) for _ in range(2000))
    # Luhn alone lets 10% through; issuer prefixes cut that to the few that start like a card.
    assert hits < 2000 * 0.06


def test_iban_checks_mod97_and_country_length() -> None:
    scanner = Regex(presets=["iban"])
    assert found(scanner, "IBAN DE89370400440532013000.") == [("iban", "DE89370400440532013000")]
    assert found(scanner, "send to DE89 3704 0044 0532 0130 00 TODAY") == [("iban", "DE89 3704 0044 0532 0130 00")]
    assert found(scanner, "IBAN DE88370400440532013000") == []  # check digits wrong
    assert found(scanner, "IBAN ZZ89370400440532013000") == []  # no such country
    assert found(scanner, "IBAN DE8937040044053201300012") == []  # too long for Germany
    (finding,) = scanner.scan("DE89370400440532013000", CTX).findings
    assert finding.detail["validated"] == "mod97"


def test_openai_preset_does_not_double_report_anthropic_keys() -> None:
    text = f"key {SAMPLES['anthropic_api_key']}"
    assert found(Regex(presets=["secrets"]), text) == [("anthropic_api_key", SAMPLES["anthropic_api_key"])]
    assert found(Regex(presets=["openai_api_key"]), "sk-this-is-just-a-hyphenated-phrase") == []


def test_deny_list_names_default_and_dict_names() -> None:
    assert Regex(deny=[r"ACME-\d{6}", "secret"]).config.deny == {"pattern_1": r"ACME-\d{6}", "pattern_2": "secret"}
    scanner = Regex(deny={"order_id": r"ACME-\d{6}"}, action="redact")
    result = scanner.scan("order ACME-123456 shipped", CTX)
    assert result.verdict is Verdict.REDACT
    assert result.sanitized_text == "order <order_id> shipped"


def test_allow_exempts_overlapping_deny_matches() -> None:
    scanner = Regex(presets=["email"], allow={"company": r"@acme\.com\b"}, action="redact")
    result = scanner.scan("write to bob@acme.com or eve@evil.org", CTX)
    assert [f.kind for f in result.findings] == ["email"]
    assert result.sanitized_text == "write to bob@acme.com or <email>"


def test_allow_contain_mode_needs_the_whole_match_covered() -> None:
    overlap = Regex(presets=["email"], allow={"company": r"@acme\.com"})
    contain = Regex(presets=["email"], allow={"company": r"[\w.+-]+@acme\.com\b"}, allow_mode="contain")
    tricky = "mail bob@acme.com.attacker.io now"
    assert found(overlap, tricky) == []
    assert found(contain, tricky) == [("email", "bob@acme.com.attacker.io")]
    assert found(contain, "mail bob@acme.com now") == []


def test_case_sensitivity_applies_to_own_patterns() -> None:
    assert found(Regex(deny={"word": "secret"}), "SECRET") == []
    assert found(Regex(deny={"word": "secret"}, case_sensitive=False), "SECRET") == [("word", "SECRET")]


def test_replacement_template() -> None:
    result = Regex(presets=["email"], action="redact", replacement="[{name} removed]").scan("a@b.io", CTX)
    assert result.sanitized_text == "[email removed]"
    with pytest.raises(ConfigurationError):
        Regex(presets=["email"], replacement="{value}")


@pytest.mark.parametrize(
    ("pattern", "why"),
    [(r"(a)\1", "backreference"), (r"foo(?=bar)", "lookahead"), (r"(?<!x)y", "lookbehind"), (r"([a-z", "syntax")],
)
def test_patterns_re2_cannot_compile_name_field_and_pattern(pattern: str, why: str) -> None:
    with pytest.raises(PolicyError) as info:
        Regex(deny={"bad_one": pattern})
    assert info.value.field == "deny.bad_one", why
    assert "bad_one" in str(info.value)


def test_allow_pattern_errors_name_allow_field() -> None:
    with pytest.raises(PolicyError) as info:
        Regex(deny={"x": "x"}, allow={"mine": r"(?=y)"})
    assert info.value.field == "allow.mine"


def test_empty_matching_patterns_and_name_clashes_are_refused() -> None:
    with pytest.raises(PolicyError, match="empty string"):
        Regex(deny={"anything": "a*"})
    with pytest.raises(PolicyError, match="also a preset"):
        Regex(deny={"email": "x"}, presets=["email"])
    with pytest.raises(ConfigurationError, match="unknown preset"):
        Regex(presets=["passport"])


def test_hostile_input_is_linear() -> None:
    hostile = "a" * 1_000_000 + "!"
    scanner = Regex(deny={"nested": r"(a+)+$", "alternation": r"(a|aa)+b"}, presets=ALL)
    assert scanner.scan(hostile, CTX).verdict is Verdict.PASS
    assert found(Regex(deny={"tail": r"a{3}!"}), hostile) == [("tail", "aaa!")]


def test_spans_are_character_offsets_in_non_ascii_text() -> None:
    text = "Grüße aus Köln — schreib an jürgen@example.de, 🙂 Karte 4111111111111111"
    hits = found(Regex(presets=["email", "credit_card"]), text)
    assert hits == [("email", "jürgen@example.de"), ("credit_card", "4111111111111111")]


def test_block_mode_stops_at_max_findings_but_redact_finds_all() -> None:
    text = " ".join(f"u{i}@x.io" for i in range(50))
    assert len(Regex(presets=["email"], max_findings=5).scan(text, CTX).findings) == 5
    redacted = Regex(presets=["email"], max_findings=5, action="redact").scan(text, CTX)
    assert len(redacted.findings) == 50
    assert "@" not in (redacted.sanitized_text or "@")


def test_overlapping_hits_are_merged_when_redacting() -> None:
    scanner = Regex(deny={"a": "foo bar", "b": "bar baz"}, action="redact")
    result = scanner.scan("x foo bar baz y", CTX)
    assert result.sanitized_text == "x <a> y"
    (finding,) = result.findings
    assert finding.detail["merged"] == ["b"]
    flagged = Regex(deny={"a": "foo bar", "b": "bar baz"}, action="flag").scan("x foo bar baz y", CTX)
    assert [f.kind for f in flagged.findings] == ["a", "b"] and flagged.verdict is Verdict.FLAG


def test_settings_round_trip_through_config() -> None:
    scanner = Regex(deny=["ACME-\\d+"], presets=["secrets"], action="redact")
    again = Regex(**scanner.settings())
    assert again.settings() == scanner.settings()


def test_inside_a_pipeline() -> None:
    pipeline = ScannerPipeline(
        input=[Regex(presets=["credit_card", "email"], action="redact", allow={"own": r"@acme\.com\b"})]
    )
    report = pipeline.scan_input("My card is 4111 1111 1111 1111, mail me at ann@acme.com", user="ann")
    assert report.verdict is Verdict.REDACT
    assert report.sanitized_text == "My card is <credit_card>, mail me at ann@acme.com"
    blocking = ScannerPipeline(input=[Regex(presets=["secrets"])])
    assert blocking.scan_input(f"token {SAMPLES['github_token']}").blocked


# -- properties -------------------------------------------------------------------------

_VALUES = [SAMPLES[name] for name in ("email", "credit_card", "iban", "github_token", "jwt", "ipv4")]
_texts = st.lists(
    st.one_of(st.sampled_from(_VALUES), st.text(alphabet=st.characters(codec="utf-8"), max_size=12)),
    max_size=12,
).map(" ".join)
_SCANNER = Regex(presets=ALL, deny={"order": r"ACME-\d{4}"}, action="redact")


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_texts)
def test_property_spans_inside_text_and_redaction_removes_values(text: str) -> None:
    result = _SCANNER.scan(text, CTX)
    for finding in result.findings:
        assert 0 <= finding.start < finding.end <= len(text)
        assert text[finding.start : finding.end] not in str(finding.detail)
    if result.verdict is Verdict.PASS:
        assert result.sanitized_text is None
        assert result.findings == []
        return
    values = {text[f.start : f.end] for f in result.findings}
    sanitized = result.sanitized_text
    assert sanitized is not None
    again = _SCANNER.scan(sanitized, CTX)
    assert not values & {sanitized[f.start : f.end] for f in again.findings}


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_property_block_mode_never_rewrites_text(text: str) -> None:
    result = Regex(presets=ALL).scan(text, CTX)
    assert result.sanitized_text is None
    assert all(0 <= f.start < f.end <= len(text) for f in result.findings)


def test_a_rejected_or_shortened_candidate_does_not_hide_the_next_one() -> None:
    iban = SAMPLES["iban"]
    assert found(Regex(presets=["iban"]), f"{iban} {iban}") == [("iban", iban), ("iban", iban)]
    card = SAMPLES["credit_card"]
    assert found(Regex(presets=["credit_card"]), f"1234 5678 9012 3456 {card}") == [("credit_card", card)]


def test_offsets_after_many_multibyte_characters() -> None:
    text = "ä€😀 " * 50 + "x@y.io " + "日本語 " * 30 + "z@w.fr"
    hits = found(Regex(presets=["email"]), text)
    assert hits == [("email", "x@y.io"), ("email", "z@w.fr")]


@pytest.mark.parametrize(
    ("text", "card"),
    [
        ("card 4111 1111 1111 1111 123 exp 12/29", "4111 1111 1111 1111"),  # followed by a CVV
        ("amex 3782 822463 10005 ok", "3782 822463 10005"),
        ("amex 3782-822463-10005 ok", "3782-822463-10005"),
        ("long 6011 0000 0000 0000 001 ok", "6011 0000 0000 0000 001"),  # 19 digits in five groups
        ("plain 4012888888881881.", "4012888888881881"),
        ("mc2 2223003122003222 ok", "2223003122003222"),
    ],
)
def test_card_formats_people_write(text: str, card: str) -> None:
    assert found(Regex(presets=["credit_card"]), text) == [("credit_card", card)]


@pytest.mark.parametrize(
    "hostile",
    [
        "1-" * 200_000,  # every digit a candidate start
        "4444 " * 200_000,  # every group a candidate start, all failing Luhn
        "sk-" * 200_000,  # one long key-like run without digits
        "-----BEGIN RSA PRIVATE KEY-----!" * 20_000,  # PEM headers with no END line
        "GB82 " * 200_000,
        "+1 " * 200_000,
    ],
)
def test_hostile_candidate_floods_finish(hostile: str) -> None:
    # Each of these took seconds to minutes with a naive retry; they must stay linear.
    result = Regex(presets=ALL, action="redact").scan(hostile, CTX)
    assert all(0 <= f.start < f.end <= len(hostile) for f in result.findings)


def test_private_key_block_runs_to_its_end_line_or_over_its_body() -> None:
    key = (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----"
    )
    scanner = Regex(presets=["private_key"], action="redact")
    result = scanner.scan(f"here: {key} thanks", CTX)
    assert result.sanitized_text == "here: <private_key> thanks"
    truncated = scanner.scan("oops -----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBgkq\nhkiG9w0B!", CTX)
    assert truncated.sanitized_text == "oops <private_key>!"
