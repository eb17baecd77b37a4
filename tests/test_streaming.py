"""Streaming output scanning: released text is scanned, redacted, and never re-scanned in full."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airisk import ScannerPipeline
from airisk.errors import ConfigurationError

from support import Digits, Keyword, Pattern


def chunked(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


def test_redacts_a_value_split_across_chunks() -> None:
    pipeline = ScannerPipeline(output=[Digits()])
    stream = pipeline.scan_stream(["your card is 4111 ", "1111", "11", "11 1111 ok, and 98", "7654 too"], hold_back=16)
    released = "".join(stream)
    assert released == "your card is <NUM> <NUM> <NUM> ok, and <NUM> too"
    assert not stream.blocked
    assert stream.report.sanitized_text == released


def test_block_stops_the_stream_before_the_offending_text() -> None:
    pipeline = ScannerPipeline(output=[Keyword(keywords=["launch codes"])])
    safe = "All good so far. " * 10
    chunks = [safe, "and here are the launch ", "codes: 0000", " more text " * 20]
    stream = pipeline.scan_stream(chunks, hold_back=32)
    released = "".join(stream)
    assert stream.blocked
    assert "launch" not in released
    assert released == safe[: len(released)]
    assert stream.report.blocked


def test_long_stream_is_not_rescanned_from_the_start() -> None:
    pipeline = ScannerPipeline(output=[Digits()])
    text = "word " * 4000  # 20,000 characters in 4,000 small chunks
    stream = pipeline.scan_stream([text[i : i + 5] for i in range(0, len(text), 5)], hold_back=64)
    released = "".join(stream)
    assert released == text
    # each character is scanned a bounded number of times, whatever the stream length
    assert stream.scanned_chars <= 4 * len(text)
    assert stream.windows < len(text) // 64


def test_report_spans_are_global_and_deduplicated() -> None:
    pipeline = ScannerPipeline(output=[Digits()])
    text = "a" * 100 + " 123456 " + "b" * 100 + " 7890123"
    stream = pipeline.scan_stream(chunked(text, list(range(0, len(text), 7))), hold_back=20)
    "".join(stream)
    report = stream.report
    assert report.text == text
    spans = [(f.start, f.end) for f in report.findings]
    assert spans == [(101, 107), (209, 216)]


def test_hidden_characters_are_stripped_while_streaming() -> None:
    pipeline = ScannerPipeline(output=[Keyword(keywords=["forbidden"])])
    stream = pipeline.scan_stream(["for\u200bbid", "den"], hold_back=8)
    assert "".join(stream) == ""
    assert stream.blocked


def test_async_stream() -> None:
    pipeline = ScannerPipeline(output=[Digits()])

    async def source() -> AsyncIterator[str]:
        for piece in ["pay 12", "34 now", " and 5678"]:
            yield piece

    async def collect() -> str:
        return "".join([piece async for piece in pipeline.ascan_stream(source(), hold_back=8)])

    assert asyncio.run(collect()) == "pay <NUM> now and <NUM>"


@given(
    st.text(alphabet=st.sampled_from(list("ab 0123456789\n\u00e9")), max_size=300),
    st.lists(st.integers(min_value=0, max_value=400), max_size=30),
    st.integers(min_value=8, max_value=40),
)
def test_stream_equals_one_shot_scan(text: str, cuts: list[int], hold_back: int) -> None:
    """Whatever the chunking, the released text is the one-shot sanitised text
    (for values shorter than the hold-back window)."""
    pipeline = ScannerPipeline(output=[Digits()])
    expected = pipeline.scan_output(text).sanitized_text
    # digit runs longer than the window may be split by design; keep them short
    if any(len(run) > hold_back for run in "".join(c if c.isdigit() else " " for c in text).split()):
        return
    released = "".join(pipeline.scan_stream(chunked(text, cuts), hold_back=hold_back))
    assert released == expected


def test_release_cut_never_splits_a_finding_whatever_their_order() -> None:
    """The cut moves back to the start of a straddling finding; if that lands inside an earlier
    finding listed before it, it must move again, or the value is released in two pieces."""
    pipeline = ScannerPipeline(output=[Pattern(patterns=["a+b+", "b+c+"])])
    text = "x" * 24 + "aaabbbccc" + "y" * 40
    expected = pipeline.scan_output(text).sanitized_text
    stream = pipeline.scan_stream(list(text), hold_back=8)
    assert "".join(stream) == expected
    assert [(f.start, f.end) for f in stream.report.findings] == [(24, 30), (27, 33)]


@given(
    st.text(alphabet=st.sampled_from(list("abc xy")), max_size=200),
    st.lists(st.integers(min_value=0, max_value=300), max_size=20),
    st.integers(min_value=8, max_value=24),
)
def test_stream_with_overlapping_findings_equals_one_shot_scan(text: str, cuts: list[int], hold_back: int) -> None:
    pipeline = ScannerPipeline(output=[Pattern(patterns=["a{1,3}b{1,3}", "b{1,3}c{1,3}"])])
    expected = pipeline.scan_output(text).sanitized_text
    released = "".join(pipeline.scan_stream(chunked(text, cuts), hold_back=hold_back))
    assert released == expected


def test_normalisation_spans_refer_to_the_original_text_as_in_a_one_shot_scan() -> None:
    pipeline = ScannerPipeline(output=[Digits()])
    text = "a\u200b\u200bbcdefghij\u200bk" + "z\u202e" * 30 + "end"
    one_shot = [(f.start, f.end) for f in pipeline.scan_output(text).normalization if f.kind == "hidden_characters"]
    stream = pipeline.scan_stream(
        ["a\u200b\u200bbcdefgh", "ij\u200bk", *("z\u202e" for _ in range(30)), "end"], hold_back=8
    )
    "".join(stream)
    spans = [(f.start, f.end) for f in stream.report.normalization if f.kind == "hidden_characters"]
    assert spans == one_shot
    assert all(text[start:end].strip("\u200b\u202e") == "" for start, end in spans)


@pytest.mark.parametrize("hold_back", [0, -5])
def test_a_hold_back_below_one_is_refused(hold_back: int) -> None:
    """A negative window released text past the end of each scan, so a value split across
    chunks went out unredacted; zero silently meant the pipeline default."""
    pipeline = ScannerPipeline(output=[Digits()])
    with pytest.raises(ConfigurationError):
        pipeline.scan_stream(["pay 12", "34"], hold_back=hold_back)
    with pytest.raises(ConfigurationError):
        pipeline.ascan_stream(_async_chunks(["pay 12", "34"]), hold_back=hold_back)


async def _async_chunks(pieces: list[str]) -> AsyncIterator[str]:
    for piece in pieces:
        yield piece


def test_a_blocked_stream_closes_its_source_so_the_model_stops_generating() -> None:
    closed: list[str] = []

    def source() -> Iterator[str]:
        try:
            yield "this is forbidden "
            while True:
                yield "and it goes on "
        finally:
            closed.append("sync")

    async def asource() -> AsyncIterator[str]:
        try:
            yield "this is forbidden "
            while True:
                yield "and it goes on "
        finally:
            closed.append("async")

    pipeline = ScannerPipeline(output=[Keyword(keywords=["forbidden"])])
    stream = pipeline.scan_stream(source(), hold_back=8)
    assert "".join(stream) == "" and stream.blocked
    assert closed == ["sync"]

    async def consume() -> None:
        astream = pipeline.ascan_stream(asource(), hold_back=8)
        assert "".join([piece async for piece in astream]) == ""
        assert astream.blocked and closed == ["sync", "async"]

    asyncio.run(consume())
