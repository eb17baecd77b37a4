"""Per-request limits the routes check: message length and files per request."""

from __future__ import annotations

from airisk.errors import InputError
from airisk.server.context import ServerContext


class LimitExceeded(InputError):
    """A request limit (body size, message length, files per request) was exceeded (HTTP 413)."""


def check_text(ctx: ServerContext, text: str) -> None:
    limit = ctx.settings.max_message_chars
    if len(text) > limit:
        raise LimitExceeded(f"message has {len(text)} characters; the limit is {limit}")


def check_files(ctx: ServerContext, count: int) -> None:
    limit = ctx.settings.max_files_per_request
    if count > limit:
        raise LimitExceeded(f"{count} files in one request; the limit is {limit}")
