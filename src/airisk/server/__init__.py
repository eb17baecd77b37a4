"""The airisk server: a thin FastAPI app over the workspace (``create_app(settings)``).

Needs the ``server`` extra; importing ``airisk`` never imports FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airisk.server.app import create_app
    from airisk.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        try:
            from airisk.server.app import create_app
        except ImportError as exc:
            from airisk.errors import MissingDependencyError

            raise MissingDependencyError("the airisk server", "server", exc.name) from exc
        return create_app
    if name == "ServerSettings":
        from airisk.server.settings import ServerSettings

        return ServerSettings
    raise AttributeError(f"module 'airisk.server' has no attribute {name!r}")
