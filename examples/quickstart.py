"""Quickstart: scan text and hold a guarded chat, fully offline (no model needed).

    python examples/quickstart.py
"""

from __future__ import annotations

from airisk import Agent, ScannerPipeline
from airisk import scanners as s
from airisk.providers import Echo

pipeline = ScannerPipeline(
    input=[
        s.Regex(action="redact", presets=["credit_card", "iban", "secrets"]),
        s.Regex(deny={"internal_project": r"(?i)project\s+nightingale"}, action="block"),
    ],
    output=[s.Regex(action="redact", presets=["credit_card", "secrets"])],
)

report = pipeline.scan_input("Refund card 4111 1111 1111 1111 please")
print("verdict:", report.verdict.value)
print("sanitised:", report.sanitized_text)
for finding in report.findings:
    print(f"  {finding.kind} at {finding.start}-{finding.end} ({finding.detail})")

agent = Agent("helpdesk", Echo(), system_prompt="You are a helpdesk.", pipeline=pipeline)
conversation = agent.conversation(user="alice@example.com")
for question in ("What is the status of Project Nightingale?", "My IBAN is GB82 WEST 1234 5698 7654 32"):
    reply = conversation.ask(question)
    print(f"> {question}\n< {reply.text}  (blocked={reply.blocked})")
