"""The in-process httpx transport onto a :class:`FakeYouTube`: no socket, no server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from ytscale.fake.youtube import Answer, FakeYouTube


class DroppedConnection(httpx.RemoteProtocolError):
    """The fake closed the connection without answering."""


def _read_timeout(answer: Answer, request: httpx.Request) -> float | None:
    """The client's read timeout, when the answer would arrive after it."""
    timeout: Mapping[str, float | None] = request.extensions.get("timeout", {})
    read = timeout.get("read")
    return read if read is not None and answer.delay_s > read else None


def _response(answer: Answer, request: httpx.Request, timed_out: bool) -> httpx.Response:
    if timed_out:
        raise httpx.ReadTimeout("The read operation timed out", request=request)
    if answer.dropped:
        raise DroppedConnection("Server disconnected without sending a response.", request=request)
    headers = {"content-type": answer.content_type}
    return httpx.Response(answer.status, headers=headers, content=answer.body, request=request)


class FakeTransport(httpx.AsyncBaseTransport, httpx.BaseTransport):
    """In-process, for ``httpx.Client`` and ``httpx.AsyncClient`` alike (as httpx's
    ``MockTransport``): no socket and no loop of its own, so safe under a threads pool too.

    Latency is slept in the calling thread (``sleep``) or awaited; a delay past the request's read
    timeout raises ``httpx.ReadTimeout`` after that timeout, as a real socket would.
    """

    def __init__(self, fake: FakeYouTube, sleep: Callable[[float], None] = time.sleep) -> None:
        self.fake = fake
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        wait, respond = self._handle(request)
        if wait > 0:
            self._sleep(wait)
        return respond()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        wait, respond = self._handle(request)
        if wait > 0:
            await asyncio.sleep(wait)
        return respond()

    def _handle(self, request: httpx.Request) -> tuple[float, Callable[[], httpx.Response]]:
        """For a request whose body is read: the seconds to wait, then what to answer or raise."""
        answer = self.fake.answer(
            request.method,
            request.url.path,
            request.url.params.multi_items(),
            request.content,
            request.headers,
        )
        timeout = _read_timeout(answer, request)
        wait = answer.delay_s if timeout is None else timeout
        return wait, partial(_response, answer, request, timeout is not None)
