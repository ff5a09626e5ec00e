"""How one list of operations becomes the methods of both clients, typed.

Each operation of :mod:`atelier_client._operations` is bound once, in ``_Api``, by a descriptor
whose ``__get__`` is overloaded on the client it is read from: on :class:`SyncRunner` a method
that answers the value, on :class:`AsyncRunner` one that answers an awaitable (and an iterator
or async iterator for paged lists). Type checkers see the operation's own parameters either way.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Generic, ParamSpec, TypeVar, overload

from pydantic import BaseModel

from atelier_client._calls import Call, Paged
from atelier_client._operations import Batches

P = ParamSpec("P")
T = TypeVar("T")
I = TypeVar("I")  # noqa: E741 (the item type of a page)
B = TypeVar("B", bound=BaseModel)


class SyncRunner:
    """What the sync client does with calls (sends them, waits between attempts)."""

    def _run(self, call: Call[T]) -> T:
        raise NotImplementedError

    def _iterate(self, paged: Paged[Any, I]) -> Iterator[I]:
        raise NotImplementedError

    def _upload(self, batches: Batches[Any, T]) -> T:
        raise NotImplementedError


class AsyncRunner:
    """What the async client does with calls."""

    async def _run(self, call: Call[T]) -> T:
        raise NotImplementedError

    def _iterate(self, paged: Paged[Any, I]) -> AsyncIterator[I]:
        raise NotImplementedError

    async def _upload(self, batches: Batches[Any, T]) -> T:
        raise NotImplementedError


class _Bound(Generic[P, T]):
    def __init__(self, build: Callable[P, Any]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    def _method(self, runner: Any, go: Callable[[Any], Any]) -> Callable[..., Any]:
        build = self.build

        @functools.wraps(build)
        def method(*args: Any, **kwargs: Any) -> Any:
            return go(build(*args, **kwargs))

        return method


class Operation(_Bound[P, T]):
    """One request, one answer."""

    @overload
    def __get__(self, obj: SyncRunner, owner: Any) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: AsyncRunner, owner: Any) -> Callable[P, Awaitable[T]]: ...
    @overload
    def __get__(self, obj: None, owner: Any) -> Operation[P, T]: ...
    def __get__(self, obj: Any, owner: Any) -> Any:
        return self if obj is None else self._method(obj, obj._run)


class PagedOperation(_Bound[P, T]):
    """Every item of a paged list, fetched page by page as the iteration needs them."""

    @overload
    def __get__(self, obj: SyncRunner, owner: Any) -> Callable[P, Iterator[T]]: ...
    @overload
    def __get__(self, obj: AsyncRunner, owner: Any) -> Callable[P, AsyncIterator[T]]: ...
    @overload
    def __get__(self, obj: None, owner: Any) -> PagedOperation[P, T]: ...
    def __get__(self, obj: Any, owner: Any) -> Any:
        return self if obj is None else self._method(obj, obj._iterate)


class BatchOperation(_Bound[P, T]):
    """An upload in as many calls as its size takes, one report."""

    @overload
    def __get__(self, obj: SyncRunner, owner: Any) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: AsyncRunner, owner: Any) -> Callable[P, Awaitable[T]]: ...
    @overload
    def __get__(self, obj: None, owner: Any) -> BatchOperation[P, T]: ...
    def __get__(self, obj: Any, owner: Any) -> Any:
        return self if obj is None else self._method(obj, obj._upload)


def one(build: Callable[P, Call[T]]) -> Operation[P, T]:
    return Operation(build)


def pages(build: Callable[P, Paged[Any, I]]) -> PagedOperation[P, I]:
    return PagedOperation(build)


def batches(build: Callable[P, Batches[Any, T]]) -> BatchOperation[P, T]:
    return BatchOperation(build)
