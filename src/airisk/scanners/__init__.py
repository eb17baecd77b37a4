"""Scanners, one module each, imported only when first used.

``from airisk import scanners as s; s.Regex(...)`` loads just the regex module. Policy
files name scanners by their registry name (``regex``, ``personal_information``…);
third-party scanners register under the ``airisk.scanners`` entry-point group.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from airisk.scanners.base import Scanner, ScannerConfig

if TYPE_CHECKING:
    from airisk.scanners.ai_policy import AIPolicy
    from airisk.scanners.file_types import FileTypes
    from airisk.scanners.geo_gate import GeoGate
    from airisk.scanners.language import Language
    from airisk.scanners.personal_information import PersonalInformation
    from airisk.scanners.prompt_injection import PromptInjection
    from airisk.scanners.regex import Regex
    from airisk.scanners.topics import Topics
    from airisk.scanners.toxicity import Toxicity

# registry name -> (module, class name); the class name is also the attribute exported here
BUILTIN: dict[str, tuple[str, str]] = {
    "regex": ("airisk.scanners.regex", "Regex"),
    "file_types": ("airisk.scanners.file_types", "FileTypes"),
    "geo_gate": ("airisk.scanners.geo_gate", "GeoGate"),
    "language": ("airisk.scanners.language", "Language"),
    "personal_information": ("airisk.scanners.personal_information", "PersonalInformation"),
    "prompt_injection": ("airisk.scanners.prompt_injection", "PromptInjection"),
    "toxicity": ("airisk.scanners.toxicity", "Toxicity"),
    "topics": ("airisk.scanners.topics", "Topics"),
    "ai_policy": ("airisk.scanners.ai_policy", "AIPolicy"),
}
_BY_CLASS = {class_name: (module, class_name) for module, class_name in BUILTIN.values()}

__all__ = [
    "AIPolicy",
    "FileTypes",
    "GeoGate",
    "Language",
    "PersonalInformation",
    "PromptInjection",
    "Regex",
    "Scanner",
    "ScannerConfig",
    "Topics",
    "Toxicity",
    "available",
    "get_scanner_class",
]


def __getattr__(name: str) -> Any:
    if name in _BY_CLASS:
        module, class_name = _BY_CLASS[name]
        return getattr(importlib.import_module(module), class_name)
    raise AttributeError(f"module 'airisk.scanners' has no attribute {name!r}")


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group="airisk.scanners")}


def available() -> list[str]:
    """Registry names of every scanner: built-in and installed plug-ins."""
    return sorted(set(BUILTIN) | set(_entry_points()))


def get_scanner_class(name: str) -> type[Scanner]:
    """The scanner class registered under ``name``; a clear error for unknown names."""
    from airisk.errors import PolicyError

    if name in BUILTIN:
        module, class_name = BUILTIN[name]
        cls = getattr(importlib.import_module(module), class_name)
    elif name in _entry_points():
        cls = _entry_points()[name].load()
    else:
        raise PolicyError(f"unknown scanner {name!r}; known: {', '.join(available())}", field="type")
    if not (isinstance(cls, type) and issubclass(cls, Scanner)):
        raise PolicyError(f"{name!r} does not name a Scanner subclass", field="type")
    return cls
