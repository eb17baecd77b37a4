"""What every vendor adapter shares: settings coercion, lazy SDK clients, retries, streaming.

A vendor module supplies the pieces that differ (how to build the SDK client, the request
payload, how to read the answer, how to translate stream chunks); this base runs them with
retries, one error tree and the same streaming contract for sync and async.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, ClassVar

from pydantic import Field, ValidationError

from airisk.errors import ConfigurationError, EngineError
from airisk.providers._errors import map_error
from airisk.providers._retry import RetryPolicy, acall_with_retries, call_with_retries
from airisk.providers.base import Engine, EngineEvent, EngineRequest, EngineResponse, EngineSettings

_EMPTY = object()


class RemoteEngineSettings(EngineSettings):
    """Settings shared by engines that call a vendor over the network."""

    backoff_base_s: float = Field(default=0.5, ge=0, description="first retry waits up to this long (jittered)")
    backoff_max_s: float = Field(default=8.0, ge=0, description="longest wait between retries")
    max_retry_after_s: float = Field(
        default=60.0, ge=0, description="a longer Retry-After from the vendor is not waited for"
    )


class StreamTranslator(ABC):
    """Turns one vendor's stream chunks into :class:`EngineEvent` s; ends with usage and done."""

    @abstractmethod
    def feed(self, chunk: Any) -> list[EngineEvent]:
        """Events for one vendor chunk (often none)."""

    @abstractmethod
    def finish(self) -> list[EngineEvent]:
        """The closing ``usage`` and ``done`` events."""


class RemoteEngine(Engine):
    """Base of the vendor adapters. Subclasses set the class attributes and the ``_`` hooks."""

    settings_class: ClassVar[type[RemoteEngineSettings]] = RemoteEngineSettings

    def __init__(self, settings: RemoteEngineSettings | Mapping[str, Any] | None = None, /, **options: Any) -> None:
        super().__init__(self._coerce_settings(settings, options))
        self.settings: RemoteEngineSettings
        self._client: Any = None
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._secret_values: list[str] = []

    @classmethod
    def _coerce_settings(cls, settings: Any, options: dict[str, Any]) -> RemoteEngineSettings:
        if settings is None and "settings" in options:
            settings = options.pop("settings")
        try:
            if settings is None:
                return cls.settings_class(**options)
            if isinstance(settings, Mapping):
                return cls.settings_class(**{**settings, **options})
            if isinstance(settings, cls.settings_class):
                if options:
                    return cls.settings_class(**{**dict(settings), **options})
                return settings
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or 'settings'}: {error['msg']}" for error in exc.errors()
            )
            raise ConfigurationError(f"invalid settings for engine {cls.name!r}: {problems}") from None
        raise ConfigurationError(
            f"{cls.__name__} takes {cls.settings_class.__name__} or keyword settings, not {type(settings).__name__}"
        )

    @property
    def retry_policy(self) -> RetryPolicy:
        s = self.settings
        return RetryPolicy(
            max_retries=s.max_retries,
            base_delay_s=s.backoff_base_s,
            max_delay_s=s.backoff_max_s,
            max_retry_after_s=s.max_retry_after_s,
        )

    # hooks for vendor modules -------------------------------------------------------

    @abstractmethod
    def _create_client(self) -> Any:
        """The vendor's sync client, with its own retries off and the configured timeout."""

    def _create_async_client(self) -> Any:
        """The vendor's async client; engines without one return None and use threads."""
        return None

    @abstractmethod
    def _payload(self, request: EngineRequest) -> dict[str, Any]:
        """The vendor request (keyword arguments for the SDK call), built once per call."""

    @abstractmethod
    def _send(self, client: Any, payload: dict[str, Any]) -> Any:
        """One non-streaming call; returns the vendor's response object."""

    async def _asend(self, client: Any, payload: dict[str, Any]) -> Any:
        raise NotImplementedError

    @abstractmethod
    def _parse(self, raw: Any) -> EngineResponse:
        """The vendor's answer in our shape (keeping ``raw``)."""

    @abstractmethod
    def _open_stream(self, client: Any, payload: dict[str, Any]) -> Iterator[Any]:
        """Start a streaming call; returns an iterator of vendor chunks."""

    async def _aopen_stream(self, client: Any, payload: dict[str, Any]) -> AsyncIterator[Any]:
        raise NotImplementedError

    @abstractmethod
    def _translator(self) -> StreamTranslator:
        """A fresh translator for one stream."""

    # shared machinery ---------------------------------------------------------------

    def _remember_secret(self, value: str | None) -> str | None:
        """Note a resolved credential so error messages can be scrubbed of it."""
        if value and value not in self._secret_values:
            self._secret_values.append(value)
        return value

    def _to_error(self, exc: BaseException) -> EngineError:
        return map_error(exc, engine=self.name, model=self.model, secrets=self._secret_values)

    @property
    def client(self) -> Any:
        """The vendor SDK client, built on first use (which is when the SDK is imported)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._create_client()
        return self._client

    def _async_client(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            with self._lock:
                client = self._async_clients.get(loop)
                if client is None:
                    client = self._create_async_client()
                    if client is not None:
                        self._async_clients[loop] = client
        return client

    def _checked_parse(self, raw: Any) -> EngineResponse:
        try:
            return self._parse(raw)
        except EngineError:
            raise
        except Exception as exc:  # noqa: BLE001 - a malformed vendor answer is an engine error
            raise EngineError(
                f"could not read the engine's answer ({type(exc).__name__})", engine=self.name, model=self.model
            ) from None

    def complete(self, request: EngineRequest) -> EngineResponse:
        payload = self._payload(request)
        client = self.client
        raw = call_with_retries(lambda: self._send(client, payload), self.retry_policy, self._to_error)
        return self._checked_parse(raw)

    async def acomplete(self, request: EngineRequest) -> EngineResponse:
        client = self._async_client()
        if client is None:
            return await super().acomplete(request)
        payload = self._payload(request)
        raw = await acall_with_retries(lambda: self._asend(client, payload), self.retry_policy, self._to_error)
        return self._checked_parse(raw)

    def stream(self, request: EngineRequest) -> Iterator[EngineEvent]:
        payload = self._payload(request)
        client = self.client

        def start() -> tuple[Iterator[Any], Any]:
            source = self._open_stream(client, payload)
            chunks = source if hasattr(source, "__next__") else iter(source)
            try:
                return chunks, next(chunks, _EMPTY)
            except BaseException:
                _close(chunks)  # the attempt failed before any text: free its connection, then retry
                raise

        chunks, first = call_with_retries(start, self.retry_policy, self._to_error)
        translator = self._translator()
        try:
            if first is not _EMPTY:
                yield from translator.feed(first)
                for chunk in chunks:
                    yield from translator.feed(chunk)
        except Exception as exc:  # noqa: BLE001 - mid-stream failures are not retried (text already left)
            raise self._to_error(exc) from None
        finally:
            _close(chunks)
        yield from translator.finish()

    async def astream(self, request: EngineRequest) -> AsyncIterator[EngineEvent]:
        client = self._async_client()
        if client is None:
            async for event in super().astream(request):
                yield event
            return
        payload = self._payload(request)

        async def start() -> tuple[AsyncIterator[Any], Any]:
            source = await self._aopen_stream(client, payload)
            chunks = source if hasattr(source, "__anext__") else source.__aiter__()
            try:
                first = await chunks.__anext__()
            except StopAsyncIteration:
                first = _EMPTY
            except BaseException:
                await _aclose(chunks)
                raise
            return chunks, first

        chunks, first = await acall_with_retries(start, self.retry_policy, self._to_error)
        translator = self._translator()
        try:
            if first is not _EMPTY:
                for event in translator.feed(first):
                    yield event
                async for chunk in chunks:
                    for event in translator.feed(chunk):
                        yield event
        except Exception as exc:  # noqa: BLE001 - mid-stream failures are not retried (text already left)
            raise self._to_error(exc) from None
        finally:
            await _aclose(chunks)
        for event in translator.finish():
            yield event


def _close(chunks: Any) -> None:
    close = getattr(chunks, "close", None)
    if callable(close):
        close()


async def _aclose(chunks: Any) -> None:
    close = getattr(chunks, "close", None) or getattr(chunks, "aclose", None)
    if callable(close):
        result = close()
        if asyncio.iscoroutine(result):
            await result
