"""``airisk serve``: run the API server (uvicorn) on the database named by AIRISK_DATABASE_URL."""

from __future__ import annotations

import argparse
import os
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="run the API server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (share the database)")
    parser.add_argument("--database-url", help="overrides AIRISK_DATABASE_URL")
    parser.add_argument("--log-level", default="info")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        from airisk.errors import MissingDependencyError

        raise MissingDependencyError("airisk serve", "server", "uvicorn") from None
    if args.database_url:
        os.environ["AIRISK_DATABASE_URL"] = args.database_url
    from airisk.server.settings import ServerSettings
    from airisk.store import upgrade

    settings = ServerSettings.from_env()
    upgrade(settings.database_url)  # once, before the workers start
    os.environ["AIRISK_MIGRATE_ON_START"] = "false"
    uvicorn.run(
        "airisk.server.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        proxy_headers=True,
    )
    return 0
