"""Pages that walk themselves: iterate a list call and every following page is fetched on demand.

    for agent in client.agents.list():          # all agents, page after page
        ...
    page = client.conversations.list(limit=50)  # or drive it by hand
    while True:
        handle(page.data)
        if not page.has_next_page():
            break
        page = page.get_next_page()

The async client returns an :class:`AsyncPaginator`: ``await`` it for the first page, or
``async for`` over it for every item.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

from airisk.errors import AiriskError

T = TypeVar("T")


class NoNextPage(AiriskError, LookupError):
    """``get_next_page()`` was called on the last page (check ``has_next_page()`` first)."""


class _PageBase(Generic[T]):
    def __init__(self, data: list[T], has_more: bool, next_cursor: str | None) -> None:
        self.data = data
        self.has_more = has_more
        self.next_cursor = next_cursor

    def has_next_page(self) -> bool:
        return bool(self.has_more and self.next_cursor)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(items={len(self.data)}, has_more={self.has_more})"


class SyncPage(_PageBase[T]):
    """One page of a list, which can fetch the next page and iterate across all of them."""

    def __init__(
        self, data: list[T], has_more: bool, next_cursor: str | None, fetch: Callable[[str], SyncPage[T]]
    ) -> None:
        super().__init__(data, has_more, next_cursor)
        self._fetch = fetch

    def get_next_page(self) -> SyncPage[T]:
        if not self.has_next_page():
            raise NoNextPage("this is the last page")
        assert self.next_cursor is not None
        return self._fetch(self.next_cursor)

    def iter_pages(self) -> Iterator[SyncPage[T]]:
        page = self
        yield page
        while page.has_next_page():
            page = page.get_next_page()
            yield page

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.data


class AsyncPage(_PageBase[T]):
    """Async twin of :class:`SyncPage`."""

    def __init__(
        self,
        data: list[T],
        has_more: bool,
        next_cursor: str | None,
        fetch: Callable[[str], Awaitable[AsyncPage[T]]],
    ) -> None:
        super().__init__(data, has_more, next_cursor)
        self._fetch = fetch

    async def get_next_page(self) -> AsyncPage[T]:
        if not self.has_next_page():
            raise NoNextPage("this is the last page")
        assert self.next_cursor is not None
        return await self._fetch(self.next_cursor)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        page = self
        yield page
        while page.has_next_page():
            page = await page.get_next_page()
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item


class AsyncPaginator(Generic[T]):
    """What async list calls return: awaitable (the first page) and async-iterable (every item)."""

    def __init__(self, first: Callable[[], Awaitable[AsyncPage[T]]]) -> None:
        self._first = first

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._first().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._first()
        async for item in page:
            yield item


__all__ = ["AsyncPage", "AsyncPaginator", "NoNextPage", "SyncPage"]
