"""Allowed file types: extension allow/deny lists checked against what the bytes really are.

A file's name is only a claim. The scanner sniffs the content by its magic bytes (a small
table, no native dependencies), looks inside ZIP containers without extracting anything
(to tell a .docx from a plain .zip or a .jar), and refuses a file whose declared extension
disagrees with its content, so a ``report.pdf`` that is really a Windows executable never
reaches the model or the people who open its attachments.
"""

from __future__ import annotations

import io
import json
import struct
import time
import zipfile
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, field_validator

from airisk.scanners.base import Scanner, ScannerConfig
from airisk.types import FileAttachment, Finding, ScanContext, ScanResult, Verdict

Policy = Literal["pass", "flag", "block"]
_MakeFinding = Callable[[str, str, Verdict], "tuple[Finding, Verdict]"]

#: Detected types that run code when opened; refused unless the allow list names them.
EXECUTABLE_TYPES = frozenset({"pe", "elf", "macho", "java_class", "script", "jar", "apk", "wasm"})
#: Extensions that run code on common systems, whatever their content looks like.
EXECUTABLE_EXTENSIONS = frozenset(
    {
        "exe", "dll", "sys", "scr", "com", "cpl", "msi", "msp", "bat", "cmd", "ps1", "psm1", "vbs", "vbe",
        "js", "jse", "wsf", "wsh", "hta", "lnk", "jar", "apk", "app", "dmg", "pkg", "deb", "rpm", "sh",
        "bash", "zsh", "run", "so", "dylib", "class", "wasm", "reg", "gadget", "msc",
    }
)  # fmt: skip
_TEXT_TYPES = frozenset({"text", "json", "xml", "svg", "html"})

#: Which detected types each known extension may contain. An extension absent from this
#: table cannot be checked against its content; the detected type alone decides.
COMPATIBLE: dict[str, frozenset[str]] = {
    **{ext: _TEXT_TYPES for ext in ("txt", "text", "md", "markdown", "log", "csv", "tsv", "rst", "ini", "yaml", "yml")},
    "json": frozenset({"json"}),
    "html": frozenset({"html", "text"}),
    "htm": frozenset({"html", "text"}),
    "xml": frozenset({"xml", "svg"}),
    "svg": frozenset({"svg"}),
    "pdf": frozenset({"pdf"}),
    "png": frozenset({"png"}),
    "jpg": frozenset({"jpeg"}),
    "jpeg": frozenset({"jpeg"}),
    "gif": frozenset({"gif"}),
    "webp": frozenset({"webp"}),
    "bmp": frozenset({"bmp"}),
    "tif": frozenset({"tiff"}),
    "tiff": frozenset({"tiff"}),
    "ico": frozenset({"ico"}),
    "zip": frozenset({"zip", "docx", "xlsx", "pptx", "odf"}),
    "docx": frozenset({"docx"}),
    "docm": frozenset({"docx"}),
    "xlsx": frozenset({"xlsx"}),
    "xlsm": frozenset({"xlsx"}),
    "pptx": frozenset({"pptx"}),
    "pptm": frozenset({"pptx"}),
    "odt": frozenset({"odf"}),
    "ods": frozenset({"odf"}),
    "odp": frozenset({"odf"}),
    "doc": frozenset({"ole"}),
    "xls": frozenset({"ole"}),
    "ppt": frozenset({"ole"}),
    "msg": frozenset({"ole"}),
    "rtf": frozenset({"rtf"}),
    "gz": frozenset({"gzip"}),
    "tgz": frozenset({"gzip"}),
    "7z": frozenset({"7z"}),
    "rar": frozenset({"rar"}),
    "mp3": frozenset({"mp3"}),
    "wav": frozenset({"wav"}),
    "ogg": frozenset({"ogg"}),
    "flac": frozenset({"flac"}),
    "mp4": frozenset({"mp4"}),
    "m4a": frozenset({"mp4"}),
    "mov": frozenset({"mp4"}),
    "exe": frozenset({"pe"}),
    "dll": frozenset({"pe"}),
    "jar": frozenset({"jar", "zip"}),
    "apk": frozenset({"apk", "jar", "zip"}),
    "class": frozenset({"java_class"}),
    "wasm": frozenset({"wasm"}),
    "sh": frozenset({"script", "text"}),
}
#: Extensions a detected type goes by when it is not simply its own name, so that
#: ``deny: [exe]`` also refuses a Windows executable renamed to .dat. Ambiguous families
#: (OLE holds .doc, .xls and .msi alike) are matched by their type name only.
TYPE_EXTENSIONS: dict[str, frozenset[str]] = {
    "pe": frozenset({"exe", "dll"}),
    "jpeg": frozenset({"jpg"}),
    "tiff": frozenset({"tif"}),
    "gzip": frozenset({"gz", "tgz"}),
    "mp4": frozenset({"m4a", "mov"}),
    "java_class": frozenset({"class"}),
    "script": frozenset({"sh"}),
}

_MAX_ZIP_ENTRIES = 20_000
_SNIFF_WINDOW = 4096


def _extension(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base.strip("."):
        return ""
    return base.rsplit(".", 1)[-1].lower()


def normalize_extension(value: str) -> str:
    """``".PDF"`` and ``"pdf"`` are the same extension."""
    return value.strip().lstrip(".").lower()


def _zip_entry_count(data: bytes) -> int | None:
    """Entry count from the end-of-central-directory record, read without parsing the archive."""
    tail = data[-(65536 + 22) :]
    index = tail.rfind(b"PK\x05\x06")
    if index < 0 or index + 22 > len(tail):
        return None
    return int(struct.unpack("<H", tail[index + 10 : index + 12])[0])


def _sniff_zip(data: bytes) -> tuple[str, str | None]:
    """Tell OOXML, OpenDocument, JAR and APK from a plain ZIP by entry names only."""
    count = _zip_entry_count(data)
    if count is None or count >= 0xFFFF or count > _MAX_ZIP_ENTRIES:
        return "zip", "central directory missing or too large to inspect"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()[:_MAX_ZIP_ENTRIES]
            mimetype = b""
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size <= 128:
                    with archive.open(info) as handle:
                        mimetype = handle.read(128)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, NotImplementedError, EOFError):
        return "zip", "unreadable archive"
    name_set = set(names)
    if "AndroidManifest.xml" in name_set and any(name.endswith(".dex") for name in names):
        return "apk", None
    if "META-INF/MANIFEST.MF" in name_set and any(name.endswith(".class") for name in names):
        return "jar", None
    if "[Content_Types].xml" in name_set:
        for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
            if any(name.startswith(prefix) for name in names):
                return kind, None
    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
        return "odf", None
    return "zip", None


def _sniff_text(data: bytes) -> str | None:
    """A text family type for valid UTF-8 (or BOM-marked UTF-16) without NUL bytes."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    else:
        if b"\x00" in data:
            return None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None
    if "\x00" in text:
        return None
    head = text[:_SNIFF_WINDOW].lstrip().lower()
    if head.startswith("{\\rtf"):
        return "rtf"
    if head.startswith("<?xml") or head.startswith("<svg"):
        return "svg" if "<svg" in head else "xml"
    if head.startswith(("<!doctype html", "<html")) or (
        head.startswith("<") and any(tag in head for tag in ("<head", "<body", "<script", "<iframe"))
    ):
        return "html"
    if head[:1] in ("{", "["):
        try:
            json.loads(text)
        except ValueError:
            return "text"
        return "json"
    return "text"


def _parses_as_json(data: bytes) -> bool:
    """JSON whose top level is a scalar (``42``, ``"x"``) is still JSON."""
    try:
        json.loads(data.decode("utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"))
    except ValueError:
        return False
    return True


def _sniff_pe(data: bytes) -> bool:
    if len(data) < 64:
        return False
    offset = int(struct.unpack("<I", data[0x3C:0x40])[0])
    return data[offset : offset + 4] == b"PE\x00\x00"


def sniff(data: bytes) -> tuple[str | None, str | None]:
    """The detected type of ``data`` (None if unidentified) and a note on how sure that is."""
    if not data:
        return "empty", None
    head = data[:_SNIFF_WINDOW]
    if data.startswith(b"MZ") and (_sniff_pe(data) or _sniff_text(data) is None):
        return "pe", None
    if data.startswith(b"\x7fELF"):
        return "elf", None
    if head[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe"):
        return "macho", None
    if head[:4] == b"\xca\xfe\xba\xbe":
        # Mach-O universal binaries and Java classes share this magic; both run code.
        arches = int.from_bytes(head[4:8], "big") if len(head) >= 8 else 0
        return ("macho" if 0 < arches < 30 else "java_class"), None
    if data.startswith(b"\x00asm"):
        return "wasm", None
    if data.startswith(b"#!"):
        return "script", None
    if b"%PDF-" in data[:1024]:
        return "pdf", None
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png", None
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg", None
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif", None
    if data.startswith(b"RIFF") and head[8:12] in (b"WEBP", b"WAVE"):
        return ("webp" if head[8:12] == b"WEBP" else "wav"), None
    if data.startswith(b"BM") and len(data) >= 26 and head[6:10] == b"\x00\x00\x00\x00":
        header_size = int(struct.unpack("<I", head[14:18])[0])
        if header_size in (12, 40, 52, 56, 64, 108, 124):
            return "bmp", None
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff", None
    if data.startswith(b"\x00\x00\x01\x00") and len(data) >= 22:
        return "ico", None
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _sniff_zip(data)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole", None
    if data.startswith(b"\x1f\x8b"):
        return "gzip", None
    if data.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z", None
    if data.startswith((b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00")):
        return "rar", None
    if data.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "mp3", None
    if data.startswith(b"OggS"):
        return "ogg", None
    if data.startswith(b"fLaC"):
        return "flac", None
    if head[4:8] == b"ftyp":
        return "mp4", None
    return _sniff_text(data), None


class FileTypesConfig(ScannerConfig):
    """Settings of :class:`FileTypes`."""

    allow: list[str] | None = Field(default=None, description="extensions (or detected types) allowed; None = any")
    deny: list[str] = Field(default_factory=list, description="extensions (or detected types) refused")
    max_size_bytes: int | None = Field(default=25 * 1024 * 1024, ge=0)
    max_files: int | None = Field(default=None, ge=0)
    sniff: bool = Field(default=True, description="check the content's magic bytes against the extension")
    unknown: Policy = Field(default="block", description="content that cannot be identified, under an unknown name")

    @field_validator("allow", "deny", mode="before")
    @classmethod
    def _extensions(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        return [normalize_extension(item) if isinstance(item, str) else item for item in value]


class FileTypes(Scanner):
    """Refuse attachments by extension, size, count and what their bytes really are.

    Works on ``ctx.files``; the message text is not looked at, so findings span 0-0.
    """

    name = "file_types"
    Config = FileTypesConfig
    inline = True
    supported_actions = ("block", "flag")
    config: FileTypesConfig

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        started = time.perf_counter()
        cfg = self.config
        findings: list[tuple[Finding, Verdict]] = []
        refuse = Verdict(cfg.action)
        if cfg.max_files is not None and len(ctx.files) > cfg.max_files:
            detail = {"count": len(ctx.files), "limit": cfg.max_files, "reason": "too many files"}
            findings.append((Finding(kind="too_many_files", start=0, end=0, detail=detail), refuse))
        for attachment in ctx.files:
            outcome = self._check(attachment)
            if outcome is not None:
                findings.append(outcome)
        verdict = Verdict.most_severe(verdict for _, verdict in findings)
        return ScanResult(
            scanner=self.name,
            verdict=verdict,
            score=1.0 if verdict is not Verdict.PASS else 0.0,
            findings=[finding for finding, _ in findings],
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    def _check(self, attachment: FileAttachment) -> tuple[Finding, Verdict] | None:
        """The first reason to refuse or flag this file, or None when it may pass."""
        cfg = self.config
        refuse = Verdict(cfg.action)
        declared = _extension(attachment.name)
        size = max(len(attachment.content), attachment.size or 0)
        detected: str | None = None
        note: str | None = None
        content_missing = not attachment.content and size > 0
        if cfg.sniff and not content_missing:
            detected, note = sniff(attachment.content)

        def finding(kind: str, reason: str, verdict: Verdict) -> tuple[Finding, Verdict]:
            detail: dict[str, Any] = {
                "file": attachment.name[:255],
                "declared": declared,
                "detected": detected,
                "reason": reason,
            }
            if note:
                detail["note"] = note
            return Finding(kind=kind, start=0, end=0, detail=detail), verdict

        allowed = set(cfg.allow) if cfg.allow is not None else None
        denied = set(cfg.deny)
        detected_names = {detected, *TYPE_EXTENSIONS.get(detected, ())} if detected else set()

        if cfg.max_size_bytes is not None and size > cfg.max_size_bytes:
            return finding("file_too_large", f"{size} bytes is over the {cfg.max_size_bytes} byte limit", refuse)
        if declared in denied or detected_names & denied:
            return finding("file_type_denied", "extension or content type is on the deny list", refuse)
        if self._executable_refused(declared, detected, detected_names, allowed):
            return finding("executable_file", "executable files are refused unless explicitly allowed", refuse)
        if allowed is not None and declared not in allowed:
            return finding("file_type_not_allowed", "extension is not on the allow list", refuse)
        if not cfg.sniff or detected == "empty":
            return None
        if content_missing:
            return self._unknown(finding, "content not provided, type cannot be checked", declared, allowed)
        if declared in COMPATIBLE:
            expected = COMPATIBLE[declared]
            if declared == "json" and detected == "text":
                if _parses_as_json(attachment.content):
                    return None
                return finding("file_type_mismatch", "declared JSON does not parse", refuse)
            if detected not in expected:
                shown = detected or "unidentified content"
                return finding("file_type_mismatch", f"declared .{declared} but content is {shown}", refuse)
            return None
        if detected is None:
            return self._unknown(finding, "content type not recognised", declared, allowed)
        return None

    @staticmethod
    def _executable_refused(
        declared: str, detected: str | None, detected_names: set[str], allowed: set[str] | None
    ) -> bool:
        """An executable passes only if the allow list names what makes it one: its executable
        extension and, for executable content, its detected type (``exe``, ``elf``, ``sh``…)."""
        allowed = allowed or set()
        if declared in EXECUTABLE_EXTENSIONS and declared not in allowed:
            return True
        return detected in EXECUTABLE_TYPES and not detected_names & allowed

    def _unknown(
        self, finding: _MakeFinding, reason: str, declared: str, allowed: set[str] | None
    ) -> tuple[Finding, Verdict] | None:
        """Unidentified content under a name the sniffer does not know: the ``unknown`` policy,
        unless the allow list names that extension (the administrator vouched for it)."""
        if allowed is not None and declared in allowed:
            return None
        verdict = Verdict(self.config.unknown)
        if verdict is Verdict.PASS:
            return None
        return finding("file_type_unknown", reason, verdict)
