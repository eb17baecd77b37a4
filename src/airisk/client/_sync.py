"""``Client``: the synchronous client for a hosted airisk deployment.

    client = Client("https://airisk.example.com", client_id=..., client_secret=...)
    agent = next(iter(client.agents.list()))
    conv = agent.conversation()
    reply = conv.ask("My card is 4111 1111 1111 1111, why was it declined?")
    for event in conv.stream("and now?"): ...

Resource namespaces mirror the REST API; remote agents and conversations have the
methods of the in-process :class:`airisk.agent.Agent` and :class:`~airisk.agent.Conversation`
and return the same types.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from airisk.agent import ChatEvent
from airisk.client import _base as b
from airisk.client import errors as e
from airisk.client import models as m
from airisk.client._auth import credential_source
from airisk.client.pagination import SyncPage
from airisk.types import Direction, FileAttachment, Reply, ScanReport, Usage

log = logging.getLogger("airisk.client")
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class Client:
    """A connection to one airisk deployment, acting as one caller. Thread-safe; close it when done.

    Credentials, in order: ``oauth`` (an :class:`airisk.oauth.OAuth2Client` holding a token,
    e.g. after a person signed in), ``api_key`` (an agent API key), ``access_token``, or
    ``client_id`` + ``client_secret`` (client-credentials tokens, for ``userid`` when given),
    each from keyword arguments first and then ``AIRISK_*`` environment variables.
    """

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
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
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
        self._credentials = credential_source(self.settings, oauth, use_async=False)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(transport=transport, **b.http_options(self.settings))
        self.agents = Agents(self)
        self.conversations = Conversations(self)
        self.files = Files(self)
        self.users = Users(self)
        self.groups = Groups(self)
        self.api_keys = ApiKeys(self)
        self.secrets = Secrets(self)
        self.audit = Audit(self)
        self.archive = Archive(self)
        self.company = Company(self)

    def __repr__(self) -> str:
        return f"Client(base_url={self.settings.base_url!r}, credential={self.settings.credential_kind})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()
        self._credentials.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def oauth(self) -> Any:
        """The OAuth2 client behind this client's tokens, if any."""
        return getattr(self._credentials, "oauth", None)

    # top-level calls -----------------------------------------------------------------------------

    def scan(
        self,
        text: str,
        *,
        direction: Direction | str = Direction.INPUT,
        agent: str | Any = None,
        client_ip: str | None = None,
        files: Iterable[b.FileLike] = (),
    ) -> ScanReport:
        """Scan a text with ``agent``'s policy (or the API key's agent, or the server default)."""
        body = b.drop_none(
            {
                "text": text,
                "direction": Direction(direction).value,
                "agent_id": _id(agent),
                "client_ip": client_ip,
                "files": b.files_payload(files) or None,
            }
        )
        return ScanReport.model_validate(self.request("POST", "/scan", json=body))

    def health(self) -> m.Health:
        return m.Health.model_validate(self.request("GET", "/healthz", prefix=False))

    def ready(self) -> m.Health:
        return m.Health.model_validate(self.request("GET", "/readyz", prefix=False))

    # plumbing ------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        prefix: bool = True,
    ) -> Any:
        """Send one API request (with retries) and return its decoded JSON body (None when empty)."""
        response = self._send(method, path, params=params, json=json, prefix=prefix)
        return b.decode_json(response.content)

    def _send(
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
                auth = self._credentials.headers()
                request = self._http.build_request(
                    method, url, params=b.drop_none(params or {}), json=json, headers={**fixed, **auth}
                )
                response = self._http.send(request, stream=stream)
            except httpx.TimeoutException as exc:
                if attempt < settings.max_retries:
                    self._sleep(
                        b.backoff_delay(settings, attempt, None), method, url, attempt, type(exc).__name__
                    )
                    attempt += 1
                    continue
                raise e.APITimeoutError(f"{method} {url} timed out after {attempt + 1} attempts") from None
            except httpx.TransportError as exc:
                if attempt < settings.max_retries:
                    self._sleep(
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
                response.read()
                response.close()
            body = b.decode_json(response.content)
            if b.invalid_token(status, response.headers) and self._credentials.renewable and not renewed:
                self._credentials.invalidate()
                renewed = True
                continue
            if attempt < settings.max_retries and b.should_retry_status(status, response.headers, body):
                retry_after = b.parse_retry_after(response.headers.get("retry-after"))
                if retry_after is None or retry_after <= settings.max_retry_after:
                    delay = b.backoff_delay(settings, attempt, retry_after)
                    self._sleep(delay, method, url, attempt, f"HTTP {status}")
                    attempt += 1
                    continue
            raise b.status_error(status, response.headers, body)

    @staticmethod
    def _sleep(delay: float, method: str, url: str, attempt: int, why: str) -> None:
        log.info("retrying %s %s in %.2fs (attempt %d, %s)", method, url, delay, attempt + 1, why)
        time.sleep(delay)

    def _page(
        self, path: str, make: Callable[[dict[str, Any]], T], params: dict[str, Any] | None = None
    ) -> SyncPage[T]:
        """A self-walking page of ``path``; ``make`` turns each item into its object."""
        base = dict(params or {})

        def fetch(cursor: str | None) -> SyncPage[T]:
            body = self.request("GET", path, params={**base, "after": cursor})
            return SyncPage(
                [make(item) for item in body.get("data", [])],
                bool(body.get("has_more")),
                body.get("next_cursor"),
                fetch,
            )

        return fetch(None)


def _id(value: Any) -> str | None:
    """An object's id, or the value itself when it is already an id."""
    if value is None or isinstance(value, str):
        return value
    identifier = getattr(value, "id", None)
    if not isinstance(identifier, str):
        raise TypeError(f"expected an id or an object with .id, got {type(value).__name__}")
    return identifier


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def _model(cls: type[M]) -> Callable[[dict[str, Any]], M]:
    return cls.model_validate


class _Resource:
    def __init__(self, client: Client) -> None:
        self._client = client


# agents and conversations --------------------------------------------------------------------------


class RemoteAgent:
    """An agent on the server, with the methods of an in-process :class:`airisk.agent.Agent`."""

    def __init__(self, client: Client, info: m.AgentInfo) -> None:
        self._client = client
        self.info = info

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "info":
            raise AttributeError(name)
        return getattr(self.info, name)

    def __repr__(self) -> str:
        return f"RemoteAgent(id={self.info.id!r}, name={self.info.name!r}, engine={self.info.engine!r})"

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def name(self) -> str:
        return self.info.name

    def conversation(self, *, client_ip: str | None = None, title: str = "") -> RemoteConversation:
        """Start a conversation with this agent on the server."""
        return self._client.conversations.create(agent=self.id, client_ip=client_ip, title=title)

    def ask(self, text: str, *, client_ip: str | None = None) -> Reply:
        """A single guarded question with no history."""
        return self._client.agents.ask(self.id, text, client_ip=client_ip)


class RemoteConversation:
    """A conversation on the server, with the methods of an in-process :class:`airisk.agent.Conversation`.

    ``usage`` adds up the turns made through this object.
    """

    def __init__(self, client: Client, info: m.ConversationInfo, *, client_ip: str | None = None) -> None:
        self._client = client
        self.info = info
        self.client_ip = client_ip if client_ip is not None else info.client_ip
        self.usage = Usage()

    def __repr__(self) -> str:
        return f"RemoteConversation(id={self.id!r}, agent_id={self.info.agent_id!r})"

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def agent_id(self) -> str | None:
        return self.info.agent_id

    def refresh(self) -> m.ConversationInfo:
        """Reload the conversation's counters (messages, tokens, blocked, flagged) from the server."""
        self.info = self._client.conversations.get(self.id).info
        return self.info

    def ask(self, text: str, *, files: Sequence[FileAttachment] = ()) -> Reply:
        """One guarded turn: the server scans the input, calls the engine and scans the output."""
        reply = self._client.conversations.send(self.id, text, files=files, client_ip=self.client_ip)
        self.usage = self.usage + reply.usage
        return reply

    def stream(self, text: str, *, files: Sequence[FileAttachment] = ()) -> Iterator[ChatEvent]:
        """A guarded turn streamed (SSE): ``text`` events carry released, already-scanned text."""
        for event in self._client.conversations.stream(self.id, text, files=files, client_ip=self.client_ip):
            if event.type == "done" and event.reply is not None:
                self.usage = self.usage + event.reply.usage
            yield event

    def add_file(self, file: b.FileLike, *, name: str | None = None) -> ScanReport:
        """Attach a file once the agent's scanners accept it and return their report, as the
        in-process ``Conversation.add_file`` does; raises GuardrailBlocked if refused. The stored
        file is listed by ``files()``."""
        return b.file_report(self._client.files.add(file, conversation=self.id, name=name)[0])

    def files(self, *, limit: int | None = None) -> SyncPage[m.FileInfo]:
        return self._client.files.list(conversation=self.id, limit=limit)

    def delete_file(self, file: str | Any) -> None:
        """Detach a file (an id or a FileInfo); later turns no longer see it."""
        self._client.files.delete(file, conversation=self.id)

    def messages(self, *, limit: int | None = None) -> SyncPage[m.MessageInfo]:
        return self._client.conversations.messages(self.id, limit=limit)


class Agents(_Resource):
    """``/agents``: the agents the caller may use, and (admin scope) their configuration."""

    def _agent(self, raw: dict[str, Any]) -> RemoteAgent:
        return RemoteAgent(self._client, m.AgentInfo.model_validate(raw))

    def list(self, *, limit: int | None = None) -> SyncPage[RemoteAgent]:
        """The agents the caller may chat with."""
        return self._client._page("/agents", self._agent, {"limit": limit})

    def list_all(self, *, limit: int | None = None) -> SyncPage[RemoteAgent]:
        """Every agent of the company (admin)."""
        return self._client._page("/admin/agents", self._agent, {"limit": limit})

    def templates(self, *, limit: int | None = None) -> SyncPage[m.AgentInfo]:
        return self._client._page("/agent-templates", _model(m.AgentInfo), {"limit": limit})

    def get(self, agent_id: str) -> RemoteAgent:
        return self._agent(self._client.request("GET", f"/agents/{agent_id}"))

    def ask(self, agent: str | Any, text: str, *, client_ip: str | None = None) -> Reply:
        """A single guarded question (a new one-turn conversation on the server)."""
        body = b.drop_none({"text": text, "client_ip": client_ip})
        return b.reply_from(self._client.request("POST", f"/agents/{_id(agent)}/ask", json=body))[1]

    def create(self, name: str, *, engine: str = "echo", **fields: Any) -> RemoteAgent:
        """Create an agent (admin); ``fields`` as in the server's AgentCreate (system_prompt, scanner_policy, ...)."""
        return self._agent(self._client.request("POST", "/agents", json={"name": name, "engine": engine, **fields}))

    def create_from_template(self, template_id: str, *, name: str | None = None) -> RemoteAgent:
        body = b.drop_none({"template_id": template_id, "name": name})
        return self._agent(self._client.request("POST", "/agents/from-template", json=body))

    def update(self, agent: str | Any, **changes: Any) -> RemoteAgent:
        return self._agent(self._client.request("PATCH", f"/agents/{_id(agent)}", json=changes))

    def delete(self, agent: str | Any) -> None:
        self._client.request("DELETE", f"/agents/{_id(agent)}")


class Conversations(_Resource):
    """``/conversations``: start, list and resume conversations; send turns."""

    def _conversation(self, raw: dict[str, Any]) -> RemoteConversation:
        return RemoteConversation(self._client, m.ConversationInfo.model_validate(raw))

    def create(self, *, agent: str | Any, title: str = "", client_ip: str | None = None) -> RemoteConversation:
        body = b.drop_none({"agent_id": _id(agent), "title": title, "client_ip": client_ip})
        info = m.ConversationInfo.model_validate(self._client.request("POST", "/conversations", json=body))
        return RemoteConversation(self._client, info, client_ip=client_ip)

    def get(self, conversation_id: str) -> RemoteConversation:
        body = self._client.request("GET", f"/conversations/{conversation_id}", params={"limit": 1})
        return self._conversation(body["conversation"])

    def list(
        self,
        *,
        agent: str | Any = None,
        user: str | Any = None,
        blocked_only: bool | None = None,
        flagged_only: bool | None = None,
        limit: int | None = None,
    ) -> SyncPage[RemoteConversation]:
        """One's own conversations (staff see the company's; ``user`` narrows to one person's)."""
        params = {
            "limit": limit,
            "agent_id": _id(agent),
            "user_id": _id(user),
            "blocked_only": _flag(blocked_only),
            "flagged_only": _flag(flagged_only),
        }
        return self._client._page("/conversations", self._conversation, params)

    def delete(self, conversation: str | Any) -> None:
        """Delete a conversation and its messages (admin)."""
        self._client.request("DELETE", f"/conversations/{_id(conversation)}")

    def messages(self, conversation_id: str, *, limit: int | None = None) -> SyncPage[m.MessageInfo]:
        """The stored messages, each with its scan report."""
        return self._client._page(
            f"/conversations/{conversation_id}/messages", _model(m.MessageInfo), {"limit": limit}
        )

    def send(
        self,
        conversation_id: str,
        text: str,
        *,
        files: Sequence[b.FileLike] = (),
        client_ip: str | None = None,
    ) -> Reply:
        """One guarded turn, answered as JSON."""
        body = b.drop_none({"text": text, "files": b.files_payload(files) or None, "client_ip": client_ip})
        return b.reply_from(self._client.request("POST", f"/conversations/{conversation_id}/messages", json=body))[1]

    def stream(
        self,
        conversation_id: str,
        text: str,
        *,
        files: Sequence[b.FileLike] = (),
        client_ip: str | None = None,
    ) -> Iterator[ChatEvent]:
        """One guarded turn, answered as Server-Sent Events turned into ChatEvents."""
        body = b.drop_none(
            {"text": text, "files": b.files_payload(files) or None, "client_ip": client_ip, "stream": True}
        )
        response = self._client._send(
            "POST",
            f"/conversations/{conversation_id}/messages",
            json=body,
            stream=True,
            headers={"Accept": "text/event-stream"},
        )
        request_id = response.headers.get("x-request-id")
        decoder = b.SSEDecoder()
        try:
            for line in response.iter_lines():
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
            response.close()


class Files(_Resource):
    """Files of conversations (checked by the agent's file scanners) and of agents (admin)."""

    def add(
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
        raw = self._client.request("POST", _files_path(conversation, agent), json={"files": payload})
        return [m.FileInfo.model_validate(item) for item in raw]

    def list(
        self, *, conversation: str | Any = None, agent: str | Any = None, limit: int | None = None
    ) -> SyncPage[m.FileInfo]:
        return self._client._page(_files_path(conversation, agent), _model(m.FileInfo), {"limit": limit})

    def delete(self, file: str | Any, *, conversation: str | Any = None, agent: str | Any = None) -> None:
        """Delete a file (an id or a FileInfo) of a conversation (its owner, or an admin) or of an agent (admin)."""
        self._client.request("DELETE", f"{_files_path(conversation, agent)}/{_id(file)}")


def _files_path(conversation: Any, agent: Any) -> str:
    if (conversation is None) == (agent is None):
        raise TypeError("name exactly one of conversation= or agent=")
    if conversation is not None:
        return f"/conversations/{_id(conversation)}/files"
    return f"/agents/{_id(agent)}/files"


class Users(_Resource):
    """``/users`` (admin scope): application users, their groups, agents and sign-in tokens."""

    def me(self) -> m.UserInfo:
        """The user the credential acts as (any scope)."""
        return m.UserInfo.model_validate(self._client.request("GET", "/me"))

    def list(self, *, role: str | None = None, limit: int | None = None) -> SyncPage[m.UserInfo]:
        return self._client._page("/users", _model(m.UserInfo), {"limit": limit, "role": role})

    def create(
        self, userid: str, *, agent_ids: Iterable[str] = (), chat_settings: dict[str, Any] | None = None
    ) -> m.ApplicationUser:
        """Create an application user: ``userid`` is your application's id for this person."""
        body = {"userid": userid, "agent_ids": list(agent_ids), "chat_settings": chat_settings or {}}
        return m.ApplicationUser.model_validate(self._client.request("POST", "/users", json=body))

    def get(self, user_id: str) -> m.UserInfo:
        return m.UserInfo.model_validate(self._client.request("GET", f"/users/{user_id}"))

    def add_to_group(self, user: str | Any, group: str | Any) -> m.GroupInfo:
        raw = self._client.request("POST", f"/users/{_id(user)}/groups", json={"id": _id(group)})
        return m.GroupInfo.model_validate(raw)

    def assign_agent(self, user: str | Any, agent: str | Any) -> None:
        """Allow a user to chat with an agent."""
        self._client.request("POST", f"/users/{_id(user)}/agents", json={"id": _id(agent)})

    def set_token(self, user: str | Any) -> m.UserToken:
        """A new user token (shown once) the person signs in with at the authorization page."""
        return m.UserToken.model_validate(self._client.request("POST", f"/users/{_id(user)}/token"))

    def delete(self, user: str | Any) -> None:
        """Delete a user and revoke every token issued for them."""
        self._client.request("DELETE", f"/users/{_id(user)}")


class Groups(_Resource):
    """``/groups`` (admin scope)."""

    def list(self, *, limit: int | None = None) -> SyncPage[m.GroupInfo]:
        return self._client._page("/groups", _model(m.GroupInfo), {"limit": limit})

    def create(self, name: str, *, description: str = "") -> m.GroupInfo:
        raw = self._client.request("POST", "/groups", json={"name": name, "description": description})
        return m.GroupInfo.model_validate(raw)

    def add_agent(self, group: str | Any, agent: str | Any) -> m.GroupInfo:
        raw = self._client.request("POST", f"/groups/{_id(group)}/agents", json={"id": _id(agent)})
        return m.GroupInfo.model_validate(raw)

    def add_member(self, group: str | Any, user: str | Any) -> m.GroupInfo:
        return self._client.users.add_to_group(user, group)

    def delete(self, group: str | Any) -> None:
        self._client.request("DELETE", f"/groups/{_id(group)}")


class ApiKeys(_Resource):
    """Agent API keys (admin scope); a key is shown only when created."""

    def create(self, agent: str | Any, *, name: str = "") -> m.ApiKeyCreated:
        raw = self._client.request("POST", f"/agents/{_id(agent)}/api-keys", json={"name": name})
        return m.ApiKeyCreated.model_validate(raw)

    def list(self, agent: str | Any, *, limit: int | None = None) -> SyncPage[m.ApiKeyInfo]:
        return self._client._page(f"/agents/{_id(agent)}/api-keys", _model(m.ApiKeyInfo), {"limit": limit})

    def revoke(self, key_id: str) -> m.ApiKeyInfo:
        return m.ApiKeyInfo.model_validate(self._client.request("DELETE", f"/api-keys/{key_id}"))


class Secrets(_Resource):
    """Encrypted company secrets (admin scope): names come back, values never do."""

    def list(self, *, limit: int | None = None) -> SyncPage[m.SecretInfo]:
        return self._client._page("/secrets", _model(m.SecretInfo), {"limit": limit})

    def create(self, name: str, value: str, *, description: str = "", replace: bool = False) -> m.SecretInfo:
        body = {"name": name, "value": value, "description": description, "replace": replace}
        return m.SecretInfo.model_validate(self._client.request("POST", "/secrets", json=body))

    def delete(self, name: str) -> None:
        self._client.request("DELETE", f"/secrets/{name}")


class Audit(_Resource):
    """The tamper-evident audit log (admin scope)."""

    def list(
        self,
        *,
        action: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        limit: int | None = None,
    ) -> SyncPage[m.AuditEvent]:
        params = {"limit": limit, "action": action, "target_type": target_type, "target_id": target_id}
        return self._client._page("/audit", _model(m.AuditEvent), params)

    def verify(self) -> m.AuditVerification:
        return m.AuditVerification.model_validate(self._client.request("GET", "/audit/verify"))


class Archive(_Resource):
    """Archiving conversations past the company's retention (admin scope)."""

    def run(self, *, older_than_days: float | None = None) -> m.ArchiveRun:
        raw = self._client.request("POST", "/archive/run", json={"older_than_days": older_than_days})
        return m.ArchiveRun.model_validate(raw)

    def list(self, *, limit: int | None = None) -> SyncPage[m.ArchiveInfo]:
        return self._client._page("/archives", _model(m.ArchiveInfo), {"limit": limit})


class Company(_Resource):
    """The caller's company (admin scope): settings, Agent Scanner Defaults, engine settings."""

    def get(self) -> m.CompanyInfo:
        return m.CompanyInfo.model_validate(self._client.request("GET", "/company"))

    def update(self, **changes: Any) -> m.CompanyInfo:
        """Change name, description, website, contact_email, message_storage or retention_days."""
        return m.CompanyInfo.model_validate(self._client.request("PATCH", "/company", json=changes))

    def scanner_defaults(self) -> dict[str, Any]:
        """The policy merged under every agent's own (a policy dict)."""
        return dict(self._client.request("GET", "/company/scanner-defaults"))

    def set_scanner_defaults(self, policy: dict[str, Any]) -> dict[str, Any]:
        return dict(self._client.request("PUT", "/company/scanner-defaults", json=policy))

    def providers(self) -> list[m.ProviderSettings]:
        raw = self._client.request("GET", "/company/providers")
        return [m.ProviderSettings.model_validate(item) for item in raw]

    def set_provider(self, engine: str, settings: dict[str, Any]) -> m.ProviderSettings:
        """Set an engine's company-wide settings (an API key is stored encrypted and never shown again)."""
        raw = self._client.request("PUT", f"/company/providers/{engine}", json=settings)
        return m.ProviderSettings.model_validate(raw)


__all__ = ["Client", "RemoteAgent", "RemoteConversation"]
