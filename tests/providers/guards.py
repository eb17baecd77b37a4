"""Test-only scanners and a guarded-conversation check every engine runs."""

from __future__ import annotations

import re
from typing import Any

from airisk.agent import Agent
from airisk.pipeline import ScannerPipeline
from airisk.scanners.base import Scanner
from airisk.types import Finding, ScanContext, ScanResult


class BlockWord(Scanner):
    """Blocks any message containing the word ``forbidden``."""

    name = "test_block_word"

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        findings = [Finding(kind="banned_word", start=m.start(), end=m.end()) for m in re.finditer("forbidden", text)]
        return self.result(text, findings)


class RedactCode(Scanner):
    """Redacts internal codes like ``ACME-123456`` to ``[CODE]``."""

    name = "test_redact_code"

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        findings = [
            Finding(kind="code", start=m.start(), end=m.end(), replacement="[CODE]")
            for m in re.finditer(r"ACME-\d{6}", text)
        ]
        return self.result(text, findings)


def guarded_agent(engine: Any) -> Agent:
    pipeline = ScannerPipeline(input=[BlockWord()], output=[RedactCode(action="redact")])
    return Agent(name="helpdesk", engine=engine, system_prompt="Be brief.", pipeline=pipeline)
