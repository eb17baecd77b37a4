"""airisk: guardrails for every message to and from large language models.

Importing the package is cheap: every name below is loaded on first use, and heavy
dependencies (vendor SDKs, models, web frameworks) only when a feature needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from airisk import scanners
    from airisk.agent import Agent, ChatEvent, Conversation
    from airisk.errors import AiriskError, GuardrailBlocked
    from airisk.pipeline import ScannerPipeline
    from airisk.policy import Policy, merge_policies
    from airisk.types import (
        Direction,
        FileAttachment,
        Finding,
        Message,
        Reply,
        ScanContext,
        ScanReport,
        ScanResult,
        ToolCall,
        ToolResult,
        Usage,
        Verdict,
    )
    from airisk.vault import Vault

_LAZY: dict[str, str] = {
    "Agent": "airisk.agent",
    "ChatEvent": "airisk.agent",
    "Conversation": "airisk.agent",
    "AiriskError": "airisk.errors",
    "GuardrailBlocked": "airisk.errors",
    "ScannerPipeline": "airisk.pipeline",
    "Policy": "airisk.policy",
    "merge_policies": "airisk.policy",
    "Direction": "airisk.types",
    "FileAttachment": "airisk.types",
    "Finding": "airisk.types",
    "Message": "airisk.types",
    "Reply": "airisk.types",
    "ScanContext": "airisk.types",
    "ScanReport": "airisk.types",
    "ScanResult": "airisk.types",
    "ToolCall": "airisk.types",
    "ToolResult": "airisk.types",
    "Usage": "airisk.types",
    "Verdict": "airisk.types",
    "Vault": "airisk.vault",
    "evaluate": "airisk.evaluation",
    "Client": "airisk.client",
    "AsyncClient": "airisk.client",
}
_SUBMODULES = {"scanners", "providers", "types", "errors", "models", "workspace", "store"}

__all__ = [
    "Agent",
    "AiriskError",
    "AsyncClient",
    "ChatEvent",
    "Client",
    "Conversation",
    "Direction",
    "FileAttachment",
    "Finding",
    "GuardrailBlocked",
    "Message",
    "Policy",
    "Reply",
    "ScanContext",
    "ScanReport",
    "ScanResult",
    "ScannerPipeline",
    "ToolCall",
    "ToolResult",
    "Usage",
    "Vault",
    "Verdict",
    "__version__",
    "evaluate",
    "merge_policies",
    "scanners",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"airisk.{name}")
    raise AttributeError(f"module 'airisk' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
