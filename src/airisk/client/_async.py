"""``AsyncClient``: the asyncio twin of :class:`airisk.client.Client`, with the same surface.

Every call is a coroutine, except list calls, which return an
:class:`~airisk.client.pagination.AsyncPaginator` (``await`` it for the first page, or
``async for`` over every item). Remote conversations offer ``ask``/``stream`` and, as
in-process conversations do, ``aask``/``astream``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from airisk.agent import ChatEvent
from airisk.client import _base as b
from airisk.client import errors as e
from airisk.client import models as m
from airisk.client._auth import credential_source
from airisk.client._sync import _files_path, _flag, _id
from airisk.client.pagination import AsyncPage, AsyncPaginator
from airisk.types import Direction, FileAttachment, Reply, ScanReport, Usage

log = logging.getLogger("airisk.client")
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class AsyncClient:
    """A connection to one airisk deployment for asyncio code; settings as for :class:`Client`."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        access_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        userid: str | None = None,
        scope: str | None = None,
        oauth: Any = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
        backoff_initial: float | None = None,
        backoff_max: float | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = b.resolve_settings(
            base_url,
            oauth,
            api_key=api_key,
            access_token=access_token,
            client_id=client_id,
            client_secret=client_secret,
            userid=userid,
            scope=scope,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
        )
        self._credentials = credential_source(self.settings, oauth, use_async=True)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(transport=transport, **b.http_options(self.settings))
        self.agents = AsyncAgents(self)
        self.conversations = AsyncConversations(self)
        self.files = AsyncFiles(self)
        self.users = AsyncUsers(self)
        self.groups = AsyncGroups(self)
        self.api_keys = AsyncApiKeys(self)
        self.secrets = AsyncSecrets(self)
        self.audit = AsyncAudit(self)
        self.archive = AsyncArchive(self)
        self.company = AsyncCompany(self)

    def __repr__(self) -> str:
        return f"AsyncClient(base_url={self.settings.base_url!r}, credential={self.settings.credential_kind})"

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()
        await self._credentials.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def oauth(self) -> Any:
        return getattr(self._credentials, "oauth", None)

    async def scan(
        self,
        text: str,
        *,
        direction: Direction | str = Direction.INPUT,
        agent: str | Any = None,
        client_ip: str | None = None,
        files: Iterable[b.FileLike] = (),
    ) -> ScanReport:
        body = b.drop_none(
            {
                "text": text,
                "direction": Direction(direction).value,
                "agent_id": _id(agent),
                "client_ip": client_ip,
                "files": b.files_payload(files) or None,
            }
        )
        return ScanReport.model_validate(await self.request("POST", "/scan", json=body))

    async def health(self) -> m.Health:
        return m.Health.model_validate(await self.request("GET", "/healthz", prefix=False))

    async def ready(self) -> m.Health:
        return m.Health.model_validate(await self.request("GET", "/readyz", prefix=False))

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        prefix: bool = True,
    ) -> Any:
        response = await self._send(method, path, params=params, json=json, prefix=prefix)
        return b.decode_json(response.content)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        prefix: bool = True,
        stream: bool = False,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        settings = self.settings
        url = f"{b.API_PREFIX}{path}" if prefix else path
        fixed = dict(headers or {})
        if b.is_write(method) and settings.max_retries:
            fixed["Idempotency-Key"] = f"airisk-{uuid.uuid4().hex}"
        attempt = 0
        renewed = False
        while True:
            try:
                auth = await self._credentials.aheaders()
                request = self._http.build_request(
                    method, url, params=b.drop_none(params or {}), json=json, headers={**fixed, **auth}
                )
                response = await self._http.send(request, stream=stream)
            except httpx.TimeoutException as exc:
                if attempt < settings.max_retries:
                    await self._sleep(
                        b.backoff_delay(settings, attempt, None), method, url, attempt, type(exc).__name__
                    )
                    attempt += 1
                    continue
                raise e.APITimeoutError(f"{method} {url} timed out after {attempt + 1} attempts") from None
            except httpx.TransportError as exc:
                if attempt < settings.max_retries:
                    await self._sleep(
                        b.backoff_delay(settings, attempt, None), method, url, attempt, type(exc).__name__
                    )
                    attempt += 1
                    continue
                raise e.APIConnectionError(
                    f"{method} {url} failed after {attempt + 1} attempts: {type(exc).__name__}"
                ) from None
            status = response.status_code
            log.debug(
                "%s %s -> %s attempt=%d request_id=%s",
                method,
                url,
                status,
                attempt,
                response.headers.get("x-request-id"),
            )
            if status < 400:
                return response
            if stream:
                await response.aread()
                await response.aclose()
            body = b.decode_json(response.content)
            if b.invalid_token(status, response.headers) and self._credentials.renewable and not renewed:
                self._credentials.invalidate()
                renewed = True
                continue
            if attempt < settings.max_retries and b.should_retry_status(status, response.headers, body):
                retry_after = b.parse_retry_after(response.headers.get("retry-after"))
                if retry_after is None or retry_after <= settings.max_retry_after:
                    delay = b.backoff_delay(settings, attempt, retry_after)
                    await self._sleep(delay, method, url, attempt, f"HTTP {status}")
                    attempt += 1
                    continue
            raise b.status_error(status, response.headers, body)

    @staticmethod
    async def _sleep(delay: float, method: str, url: str, attempt: int, why: str) -> None:
        log.info("retrying %s %s in %.2fs (attempt %d, %s)", method, url, delay, attempt + 1, why)
        await asyncio.sleep(delay)

    def _page(
        self, path: str, make: Callable[[dict[str, Any]], T], params: dict[str, Any] | None = None
    ) -> AsyncPaginator[T]:
        base = dict(params or {})

        async def fetch(cursor: str | None) -> AsyncPage[T]:
            body = await self.request("GET", path, params={**base, "after": cursor})
            return AsyncPage(
                [make(item) for item in body.get("data", [])],
                bool(body.get("has_more")),
                body.get("next_cursor"),
                fetch,
            )

        return AsyncPaginator(lambda: fetch(None))


def _model(cls: type[M]) -> Callable[[dict[str, Any]], M]:
    return cls.model_validate


class _Resource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client


class AsyncRemoteAgent:
    """Async twin of :class:`airisk.client.RemoteAgent`."""

    def __init__(self, client: AsyncClient, info: m.AgentInfo) -> None:
        self._client = client
        self.info = info

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "info":
            raise AttributeError(name)
        return getattr(self.info, name)

    def __repr__(self) -> str:
        return f"AsyncRemoteAgent(id={self.info.id!r}, name={self.info.name!r}, engine={self.info.engine!r})"

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def name(self) -> str:
        return self.info.name

    async def conversation(self, *, client_ip: str | None = None, title: str = "") -> AsyncRemoteConversation:
        return await self._client.conversations.create(agent=self.id, client_ip=client_ip, title=title)

    async def ask(self, text: str, *, client_ip: str | None = None) -> Reply:
        return await self._client.agents.ask(self.id, text, client_ip=client_ip)

    aask = ask


class AsyncRemoteConversation:
    """Async twin of :class:`airisk.client.RemoteConversation`; ``aask``/``astream`` alias ``ask``/``stream``."""

    def __init__(self, client: AsyncClient, info: m.ConversationInfo, *, client_ip: str | None = None) -> None:
        self._client = client
        self.info = info
        self.client_ip = client_ip if client_ip is not None else info.client_ip
        self.usage = Usage()

    def __repr__(self) -> str:
        return f"AsyncRemoteConversation(id={self.id!r}, agent_id={self.info.agent_id!r})"

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def agent_id(self) -> str | None:
        return self.info.agent_id

    async def refresh(self) -> m.ConversationInfo:
        self.info = (await self._client.conversations.get(self.id)).info
        return self.info

    async def ask(self, text: str, *, files: Sequence[FileAttachment] = ()) -> Reply:
        reply = await self._client.conversations.send(self.id, text, files=files, client_ip=self.client_ip)
        self.usage = self.usage + reply.usage
        return reply

    async def stream(self, text: str, *, files: Sequence[FileAttachment] = ()) -> AsyncIterator[ChatEvent]:
        async for event in self._client.conversations.stream(self.id, text, files=files, client_ip=self.client_ip):
            if event.type == "done" and event.reply is not None:
                self.usage = self.usage + event.reply.usage
            yield event

    aask = ask
    astream = stream

    async def add_file(self, file: b.FileLike, *, name: str | None = None) -> ScanReport:
        """Async twin of the sync ``add_file``: the scanners' report on the attached file."""
        return b.file_report((await self._client.files.add(file, conversation=self.id, name=name))[0])

    def files(self, *, limit: int | None = None) -> AsyncPaginator[m.FileInfo]:
        return self._client.files.list(conversation=self.id, limit=limit)

    async def delete_file(self, file: str | Any) -> None:
        """Detach a file (an id or a FileInfo); later turns no longer see it."""
        await self._client.files.delete(file, conversation=self.id)

    def messages(self, *, limit: int | None = None) -> AsyncPaginator[m.MessageInfo]:
        return self._client.conversations.messages(self.id, limit=limit)


class AsyncAgents(_Resource):
    def _agent(self, raw: dict[str, Any]) -> AsyncRemoteAgent:
        return AsyncRemoteAgent(self._client, m.AgentInfo.model_validate(raw))

    def list(self, *, limit: int | None = None) -> AsyncPaginator[AsyncRemoteAgent]:
        return self._client._page("/agents", self._agent, {"limit": limit})

    def list_all(self, *, limit: int | None = None) -> AsyncPaginator[AsyncRemoteAgent]:
        return self._client._page("/admin/agents", self._agent, {"limit": limit})

    def templates(self, *, limit: int | None = None) -> AsyncPaginator[m.AgentInfo]:
        return self._client._page("/agent-templates", _model(m.AgentInfo), {"limit": limit})

    async def get(self, agent_id: str) -> AsyncRemoteAgent:
        return self._agent(await self._client.request("GET", f"/agents/{agent_id}"))

    async def ask(self, agent: str | Any, text: str, *, client_ip: str | None = None) -> Reply:
        body = b.drop_none({"text": text, "client_ip": client_ip})
        return b.reply_from(await self._client.request("POST", f"/agents/{_id(agent)}/ask", json=body))[1]

    async def create(self, name: str, *, engine: str = "echo", **fields: Any) -> AsyncRemoteAgent:
        raw = await self._client.request("POST", "/agents", json={"name": name, "engine": engine, **fields})
        return self._agent(raw)

    async def create_from_template(self, template_id: str, *, name: str | None = None) -> AsyncRemoteAgent:
        body = b.drop_none({"template_id": template_id, "name": name})
        return self._agent(await self._client.request("POST", "/agents/from-template", json=body))

    async def update(self, agent: str | Any, **changes: Any) -> AsyncRemoteAgent:
        return self._agent(await self._client.request("PATCH", f"/agents/{_id(agent)}", json=changes))

    async def delete(self, agent: str | Any) -> None:
        await self._client.request("DELETE", f"/agents/{_id(agent)}")


class AsyncConversations(_Resource):
    def _conversation(self, raw: dict[str, Any]) -> AsyncRemoteConversation:
        return AsyncRemoteConversation(self._client, m.ConversationInfo.model_validate(raw))

    async def create(
        self, *, agent: str | Any, title: str = "", client_ip: str | None = None
    ) -> AsyncRemoteConversation:
        body = b.drop_none({"agent_id": _id(agent), "title": title, "client_ip": client_ip})
        info = m.ConversationInfo.model_validate(await self._client.request("POST", "/conversations", json=body))
        return AsyncRemoteConversation(self._client, info, client_ip=client_ip)

    async def get(self, conversation_id: str) -> AsyncRemoteConversation:
        body = await self._client.request("GET", f"/conversations/{conversation_id}", params={"limit": 1})
        return self._conversation(body["conversation"])

    def list(
        self,
        *,
        agent: str | Any = None,
        user: str | Any = None,
        blocked_only: bool | None = None,
        flagged_only: bool | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[AsyncRemoteConversation]:
        """One's own conversations (staff see the company's; ``user`` narrows to one person's)."""
        params = {
            "limit": limit,
            "agent_id": _id(agent),
            "user_id": _id(user),
            "blocked_only": _flag(blocked_only),
            "flagged_only": _flag(flagged_only),
        }
        return self._client._page("/conversations", self._conversation, params)

    async def delete(self, conversation: str | Any) -> None:
        """Delete a conversation and its messages (admin)."""
        await self._client.request("DELETE", f"/conversations/{_id(conversation)}")

    def messages(self, conversation_id: str, *, limit: int | None = None) -> AsyncPaginator[m.MessageInfo]:
        return self._client._page(
            f"/conversations/{conversation_id}/messages", _model(m.MessageInfo), {"limit": limit}
        )

    async def send(
        self,
        conversation_id: str,
        text: str,
        *,
        files: Sequence[b.FileLike] = (),
        client_ip: str | None = None,
    ) -> Reply:
        body = b.drop_none({"text": text, "files": b.files_payload(files) or None, "client_ip": client_ip})
        raw = await self._client.request("POST", f"/conversations/{conversation_id}/messages", json=body)
        return b.reply_from(raw)[1]

    async def stream(
        self,
        conversation_id: str,
        text: str,
        *,
        files: Sequence[b.FileLike] = (),
        client_ip: str | None = None,
    ) -> AsyncIterator[ChatEvent]:
        body = b.drop_none(
            {"text": text, "files": b.files_payload(files) or None, "client_ip": client_ip, "stream": True}
        )
        response = await self._client._send(
            "POST",
            f"/conversations/{conversation_id}/messages",
            json=body,
            stream=True,
            headers={"Accept": "text/event-stream"},
        )
        request_id = response.headers.get("x-request-id")
        decoder = b.SSEDecoder()
        try:
            async for line in response.aiter_lines():
                pair = decoder.feed(line)
                if pair is not None:
                    event = b.chat_event(*pair, request_id)
                    if event is not None:
                        yield event
            pair = decoder.flush()
            if pair is not None:
                event = b.chat_event(*pair, request_id)
                if event is not None:
                    yield event
        except httpx.TransportError as exc:
            raise e.APIConnectionError(
                f"the event stream broke off: {type(exc).__name__}", request_id=request_id
            ) from None
        finally:
            await response.aclose()


class AsyncFiles(_Resource):
    async def add(
        self,
        files: b.FileLike | Sequence[b.FileLike],
        *,
        conversation: str | Any = None,
        agent: str | Any = None,
        name: str | None = None,
    ) -> list[m.FileInfo]:
        items: list[b.FileLike] = (
            [files] if isinstance(files, (str, os.PathLike, FileAttachment)) else list(files)  # type: ignore[list-item]
        )
        payload = [b.file_payload(item, name if len(items) == 1 else None) for item in items]
        raw = await self._client.request("POST", _files_path(conversation, agent), json={"files": payload})
        return [m.FileInfo.model_validate(item) for item in raw]

    def list(
        self, *, conversation: str | Any = None, agent: str | Any = None, limit: int | None = None
    ) -> AsyncPaginator[m.FileInfo]:
        return self._client._page(_files_path(conversation, agent), _model(m.FileInfo), {"limit": limit})

    async def delete(self, file: str | Any, *, conversation: str | Any = None, agent: str | Any = None) -> None:
        """Delete a file (an id or a FileInfo) of a conversation (its owner, or an admin) or of an agent (admin)."""
        await self._client.request("DELETE", f"{_files_path(conversation, agent)}/{_id(file)}")


class AsyncUsers(_Resource):
    async def me(self) -> m.UserInfo:
        """The user the credential acts as (any scope)."""
        return m.UserInfo.model_validate(await self._client.request("GET", "/me"))

    def list(self, *, role: str | None = None, limit: int | None = None) -> AsyncPaginator[m.UserInfo]:
        return self._client._page("/users", _model(m.UserInfo), {"limit": limit, "role": role})

    async def create(
        self, userid: str, *, agent_ids: Iterable[str] = (), chat_settings: dict[str, Any] | None = None
    ) -> m.ApplicationUser:
        body = {"userid": userid, "agent_ids": list(agent_ids), "chat_settings": chat_settings or {}}
        return m.ApplicationUser.model_validate(await self._client.request("POST", "/users", json=body))

    async def get(self, user_id: str) -> m.UserInfo:
        return m.UserInfo.model_validate(await self._client.request("GET", f"/users/{user_id}"))

    async def add_to_group(self, user: str | Any, group: str | Any) -> m.GroupInfo:
        raw = await self._client.request("POST", f"/users/{_id(user)}/groups", json={"id": _id(group)})
        return m.GroupInfo.model_validate(raw)

    async def assign_agent(self, user: str | Any, agent: str | Any) -> None:
        await self._client.request("POST", f"/users/{_id(user)}/agents", json={"id": _id(agent)})

    async def set_token(self, user: str | Any) -> m.UserToken:
        return m.UserToken.model_validate(await self._client.request("POST", f"/users/{_id(user)}/token"))

    async def delete(self, user: str | Any) -> None:
        await self._client.request("DELETE", f"/users/{_id(user)}")


class AsyncGroups(_Resource):
    def list(self, *, limit: int | None = None) -> AsyncPaginator[m.GroupInfo]:
        return self._client._page("/groups", _model(m.GroupInfo), {"limit": limit})

    async def create(self, name: str, *, description: str = "") -> m.GroupInfo:
        raw = await self._client.request("POST", "/groups", json={"name": name, "description": description})
        return m.GroupInfo.model_validate(raw)

    async def add_agent(self, group: str | Any, agent: str | Any) -> m.GroupInfo:
        raw = await self._client.request("POST", f"/groups/{_id(group)}/agents", json={"id": _id(agent)})
        return m.GroupInfo.model_validate(raw)

    async def add_member(self, group: str | Any, user: str | Any) -> m.GroupInfo:
        return await self._client.users.add_to_group(user, group)

    async def delete(self, group: str | Any) -> None:
        await self._client.request("DELETE", f"/groups/{_id(group)}")


class AsyncApiKeys(_Resource):
    async def create(self, agent: str | Any, *, name: str = "") -> m.ApiKeyCreated:
        raw = await self._client.request("POST", f"/agents/{_id(agent)}/api-keys", json={"name": name})
        return m.ApiKeyCreated.model_validate(raw)

    def list(self, agent: str | Any, *, limit: int | None = None) -> AsyncPaginator[m.ApiKeyInfo]:
        return self._client._page(f"/agents/{_id(agent)}/api-keys", _model(m.ApiKeyInfo), {"limit": limit})

    async def revoke(self, key_id: str) -> m.ApiKeyInfo:
        return m.ApiKeyInfo.model_validate(await self._client.request("DELETE", f"/api-keys/{key_id}"))


class AsyncSecrets(_Resource):
    def list(self, *, limit: int | None = None) -> AsyncPaginator[m.SecretInfo]:
        return self._client._page("/secrets", _model(m.SecretInfo), {"limit": limit})

    async def create(self, name: str, value: str, *, description: str = "", replace: bool = False) -> m.SecretInfo:
        body = {"name": name, "value": value, "description": description, "replace": replace}
        return m.SecretInfo.model_validate(await self._client.request("POST", "/secrets", json=body))

    async def delete(self, name: str) -> None:
        await self._client.request("DELETE", f"/secrets/{name}")


class AsyncAudit(_Resource):
    def list(
        self,
        *,
        action: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[m.AuditEvent]:
        params = {"limit": limit, "action": action, "target_type": target_type, "target_id": target_id}
        return self._client._page("/audit", _model(m.AuditEvent), params)

    async def verify(self) -> m.AuditVerification:
        return m.AuditVerification.model_validate(await self._client.request("GET", "/audit/verify"))


class AsyncArchive(_Resource):
    async def run(self, *, older_than_days: float | None = None) -> m.ArchiveRun:
        raw = await self._client.request("POST", "/archive/run", json={"older_than_days": older_than_days})
        return m.ArchiveRun.model_validate(raw)

    def list(self, *, limit: int | None = None) -> AsyncPaginator[m.ArchiveInfo]:
        return self._client._page("/archives", _model(m.ArchiveInfo), {"limit": limit})


class AsyncCompany(_Resource):
    """The caller's company (admin scope): settings, Agent Scanner Defaults, engine settings."""

    async def get(self) -> m.CompanyInfo:
        return m.CompanyInfo.model_validate(await self._client.request("GET", "/company"))

    async def update(self, **changes: Any) -> m.CompanyInfo:
        """Change name, description, website, contact_email, message_storage or retention_days."""
        return m.CompanyInfo.model_validate(await self._client.request("PATCH", "/company", json=changes))

    async def scanner_defaults(self) -> dict[str, Any]:
        """The policy merged under every agent's own (a policy dict)."""
        return dict(await self._client.request("GET", "/company/scanner-defaults"))

    async def set_scanner_defaults(self, policy: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._client.request("PUT", "/company/scanner-defaults", json=policy))

    async def providers(self) -> list[m.ProviderSettings]:
        raw = await self._client.request("GET", "/company/providers")
        return [m.ProviderSettings.model_validate(item) for item in raw]

    async def set_provider(self, engine: str, settings: dict[str, Any]) -> m.ProviderSettings:
        """Set an engine's company-wide settings (an API key is stored encrypted and never shown again)."""
        raw = await self._client.request("PUT", f"/company/providers/{engine}", json=settings)
        return m.ProviderSettings.model_validate(raw)


__all__ = ["AsyncClient", "AsyncRemoteAgent", "AsyncRemoteConversation"]
