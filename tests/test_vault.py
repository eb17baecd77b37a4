"""The per-conversation vault: stable placeholders, restoring (also streamed), concurrency,
ownership, and encrypted persistence."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airisk.errors import ConfigurationError
from airisk.vault import (
    KEY_ENV,
    PLACEHOLDER_PATTERN,
    Vault,
    VaultDecryptionError,
    VaultError,
    VaultOwnershipError,
)

KINDS = st.sampled_from(["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE"])
# values and filler never contain "<", so no literal text looks like a placeholder
VALUES = st.text(st.characters(blacklist_characters="<>", blacklist_categories=("Cs",)), min_size=1, max_size=20)
FILLER = st.text(st.characters(blacklist_characters="<", blacklist_categories=("Cs",)), max_size=15)


def test_same_value_same_placeholder_and_numbering_per_kind() -> None:
    vault = Vault()
    assert vault.placeholder("PERSON", "Alice") == "<PERSON_1>"
    assert vault.placeholder("PERSON", "Bob") == "<PERSON_2>"
    assert vault.placeholder("EMAIL_ADDRESS", "a@x.org") == "<EMAIL_ADDRESS_1>"
    assert vault.placeholder("PERSON", "Alice") == "<PERSON_1>"
    assert vault.placeholder("person", "Alice") == "<PERSON_1>"
    assert vault.find("PERSON", "Carol") is None
    assert len(vault) == 3
    assert vault.value_of("<PERSON_2>") == "Bob"


def test_odd_kind_names_still_make_valid_placeholders() -> None:
    vault = Vault()
    placeholder = vault.placeholder("1-bad kind!", "x")
    assert PLACEHOLDER_PATTERN.fullmatch(placeholder)
    assert vault.restore(f"see {placeholder}") == "see x"


def test_repr_never_shows_values() -> None:
    vault = Vault()
    vault.placeholder("PERSON", "Zebulon Secretname")
    assert "Zebulon" not in repr(vault)
    assert "Zebulon" not in str(vault)


def test_unknown_placeholders_are_left_alone() -> None:
    vault = Vault()
    vault.placeholder("PERSON", "Alice")
    assert vault.restore("<PERSON_1> met <PERSON_7> and <b>") == "Alice met <PERSON_7> and <b>"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(KINDS, VALUES, FILLER), min_size=1, max_size=8), FILLER)
def test_placeholders_round_trip(pieces: list[tuple[str, str, str]], tail: str) -> None:
    vault = Vault()
    original = "".join(filler + value for _, value, filler in pieces) + tail
    masked = "".join(filler + vault.placeholder(kind, value) for kind, value, filler in pieces) + tail
    assert vault.restore(masked) == original


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(KINDS, VALUES, st.text(max_size=12)), min_size=1, max_size=6),
    st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=40),
)
def test_streamed_restoring_equals_whole_text_restoring(pieces: list[tuple[str, str, str]], cuts: list[int]) -> None:
    """Any chunking gives the same visible text, even with '<' in the text and split placeholders."""
    vault = Vault()
    masked = "".join(filler + vault.placeholder(kind, value) for kind, value, filler in pieces)
    restorer = vault.restorer()
    out, position = [], 0
    for size in cuts:
        out.append(restorer.feed(masked[position : position + size]))
        position += size
    out.append(restorer.feed(masked[position:]))
    out.append(restorer.flush())
    assert "".join(out) == vault.restore(masked)


def test_stream_does_not_hold_back_ordinary_angle_brackets() -> None:
    vault = Vault()
    vault.placeholder("PERSON", "Alice")
    restorer = vault.restorer()
    assert restorer.feed("if a < b then ") == "if a < b then "
    assert restorer.feed("hello <PER") == "hello "
    assert restorer.feed("SON_1> bye") == "Alice bye"
    assert restorer.flush() == ""


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(KINDS, VALUES), min_size=1, max_size=30, unique=True))
def test_many_threads_agree_on_placeholders(items: list[tuple[str, str]]) -> None:
    vault = Vault()
    barrier = threading.Barrier(8)

    def worker(seed: int) -> dict[tuple[str, str], str]:
        barrier.wait()
        order = items[seed % len(items) :] + items[: seed % len(items)]
        return {item: vault.placeholder(*item) for item in order * 3}

    with ThreadPoolExecutor(max_workers=8) as pool:
        seen = list(pool.map(worker, range(8)))
    assert all(mapping == seen[0] for mapping in seen)
    placeholders = list(seen[0].values())
    assert len(set(placeholders)) == len(placeholders)
    for kind in {kind for kind, _ in items}:
        numbers = sorted(int(PLACEHOLDER_PATTERN.fullmatch(p).group(2)) for (k, _), p in seen[0].items() if k == kind)  # type: ignore[union-attr]
        assert numbers == list(range(1, len(numbers) + 1))
    for (_, value), placeholder in seen[0].items():
        assert vault.restore(placeholder) == value


async def test_async_tasks_share_one_vault_consistently() -> None:
    vault = Vault()
    values = [f"user{i}@example.org" for i in range(20)]

    async def task(offset: int) -> list[str]:
        out = []
        for value in values[offset:] + values[:offset]:
            out.append(await asyncio.to_thread(vault.placeholder, "EMAIL_ADDRESS", value))
            await asyncio.sleep(0)
        return out

    results = await asyncio.gather(*(task(i) for i in range(10)))
    mapping = {vault.value_of(p): p for result in results for p in result}
    assert len(mapping) == 20 and len(vault) == 20
    assert all(vault.placeholder("EMAIL_ADDRESS", v) == mapping[v] for v in values)


def test_two_vaults_never_see_each_others_values() -> None:
    first, second = Vault(), Vault()
    assert first.placeholder("PERSON", "Alice") == second.placeholder("PERSON", "Bob") == "<PERSON_1>"
    assert first.restore("<PERSON_1>") == "Alice"
    assert second.restore("<PERSON_1>") == "Bob"
    assert second.find("PERSON", "Alice") is None


def test_a_vault_belongs_to_one_conversation() -> None:
    vault = Vault()
    vault.claim(None)
    vault.claim("conv-a")
    vault.claim("conv-a")
    assert vault.owner == "conv-a"
    with pytest.raises(VaultOwnershipError):
        vault.claim("conv-b")


def test_dict_round_trip_keeps_numbering_going() -> None:
    vault = Vault(owner="c1")
    vault.placeholder("PERSON", "Alice")
    vault.placeholder("PERSON", "Bob")
    vault.placeholder("EMAIL_ADDRESS", "a@x.org")
    again = Vault.from_dict(vault.to_dict())
    assert again.owner == "c1"
    assert again.restore("<PERSON_2> <EMAIL_ADDRESS_1>") == "Bob a@x.org"
    assert again.placeholder("PERSON", "Alice") == "<PERSON_1>"
    assert again.placeholder("PERSON", "Carol") == "<PERSON_3>"


@pytest.mark.parametrize(
    "data",
    [
        {"version": 2},
        {"entries": [["PERSON", "Alice"]]},
        {"entries": [["PERSON", "Alice", "<EMAIL_1>"]]},
        {"entries": [["PERSON", "Alice", "<PERSON_1>"], ["PERSON", "Bob", "<PERSON_1>"]]},
        {"entries": [], "counters": {"PERSON": "many"}},
        {"entries": [], "counters": ["PERSON"]},
        {"entries": "PERSON"},
    ],
)
def test_malformed_dumps_are_refused(data: dict) -> None:
    with pytest.raises(VaultError):
        Vault.from_dict(data)


def test_encrypted_round_trip_and_binding() -> None:
    key = Vault.generate_key()
    vault = Vault(owner="conv-1")
    vault.placeholder("CREDIT_CARD", "4111 1111 1111 1111")
    token = vault.to_encrypted(key)
    assert "4111" not in token
    opened = Vault.from_encrypted(token, key, owner="conv-1")
    assert opened.restore("<CREDIT_CARD_1>") == "4111 1111 1111 1111"
    with pytest.raises(VaultDecryptionError):
        Vault.from_encrypted(token, Vault.generate_key(), owner="conv-1")
    with pytest.raises(VaultDecryptionError):
        Vault.from_encrypted(token, key, owner="conv-2")
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(VaultDecryptionError):
        Vault.from_encrypted(tampered, key, owner="conv-1")
    with pytest.raises(VaultDecryptionError):
        Vault.from_encrypted("not a vault", key)


def test_encryption_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    vault = Vault()
    vault.placeholder("PERSON", "Alice")
    with pytest.raises(ConfigurationError, match=KEY_ENV):
        vault.to_encrypted()
    monkeypatch.setenv(KEY_ENV, Vault.generate_key())
    assert Vault.from_encrypted(vault.to_encrypted()).restore("<PERSON_1>") == "Alice"
    with pytest.raises(ConfigurationError, match="32 bytes"):
        vault.to_encrypted("too-short")
    raw = bytes(range(32))
    assert Vault.from_encrypted(vault.to_encrypted(raw), raw).restore("<PERSON_1>") == "Alice"


@pytest.mark.parametrize("body", ["", "AAAA", "AAAAAAAAAAAAAAAA"])
def test_truncated_encrypted_vault_is_a_decryption_error(body: str) -> None:
    """A token cut short (a damaged database column) is refused like any other bad token."""
    with pytest.raises(VaultDecryptionError):
        Vault.from_encrypted("airisk-vault-v1." + body, Vault.generate_key())
