"""Policies shipped with airisk, usable by name (``airisk scan --policy basic``)."""

from __future__ import annotations

from pathlib import Path

BUILTIN_DIR = Path(__file__).parent


def builtin_names() -> list[str]:
    return sorted(path.stem for path in BUILTIN_DIR.glob("*.yaml"))


def resolve(name_or_path: str | Path) -> Path:
    """A policy file path from a path or the name of a built-in policy."""
    path = Path(name_or_path)
    if path.suffix.lower() in {".yaml", ".yml", ".json"} or path.exists():
        return path
    builtin = BUILTIN_DIR / f"{name_or_path}.yaml"
    if builtin.exists():
        return builtin
    from airisk.errors import PolicyError

    raise PolicyError(f"no policy file {str(name_or_path)!r} and no built-in policy of that name "
                      f"(built-in: {', '.join(builtin_names())})")
