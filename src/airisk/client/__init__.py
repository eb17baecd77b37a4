"""The client for a hosted airisk deployment: ``Client`` and ``AsyncClient`` (``pip install 'airisk[client]'``).

The same guarded-chat code runs in-process or remotely; only the object you start from
changes. See ``docs/client.md``.
"""

from __future__ import annotations

from airisk.client._async import AsyncClient, AsyncRemoteAgent, AsyncRemoteConversation
from airisk.client._sync import Client, RemoteAgent, RemoteConversation
from airisk.client.errors import (
    APIAuthenticationError,
    APIBadRequestError,
    APIConflictError,
    APIConnectionError,
    APIConversationLimitReached,
    APIEngineError,
    APIError,
    APIGuardrailBlocked,
    APINotConfiguredError,
    APINotFoundError,
    APIPermissionDeniedError,
    APIRateLimitError,
    APIRequestTooLarge,
    APIServerError,
    APIStatusError,
    APITimeoutError,
)
from airisk.client.pagination import AsyncPage, AsyncPaginator, NoNextPage, SyncPage
from airisk.client.settings import ClientSettings

__all__ = [
    "APIAuthenticationError",
    "APIBadRequestError",
    "APIConflictError",
    "APIConnectionError",
    "APIConversationLimitReached",
    "APIEngineError",
    "APIError",
    "APIGuardrailBlocked",
    "APINotConfiguredError",
    "APINotFoundError",
    "APIPermissionDeniedError",
    "APIRateLimitError",
    "APIRequestTooLarge",
    "APIServerError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncPage",
    "AsyncPaginator",
    "AsyncRemoteAgent",
    "AsyncRemoteConversation",
    "Client",
    "ClientSettings",
    "NoNextPage",
    "RemoteAgent",
    "RemoteConversation",
    "SyncPage",
]
