"""The fake as an ASGI app: what ``python -m ytscale.fake`` serves, and a uvicorn factory::

    uvicorn --factory ytscale.fake.app:create_app --port 8001   # YTSCALE_FAKE_ARGS="--seed 1"

The factory reads its options from ``$YTSCALE_FAKE_ARGS``, in ``python -m ytscale.fake``'s syntax.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
from contextlib import suppress
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from ytscale.fake.cli import config_from_args, parser
from ytscale.fake.transports import DroppedConnection
from ytscale.fake.youtube import FakeConfig, FakeYouTube


class FakeApp:
    """The fake as a bare ASGI app (one route table would only add per-request work).

    A dropped connection sends the status line and headers, then raises ``DroppedConnection``:
    uvicorn closes the socket mid-response (the client sees ``RemoteProtocolError``) and
    ``httpx.ASGITransport`` re-raises it to the client.

    With ``hub_interval_s`` > 0 the app's lifespan pumps the hub that often (real seconds), in a
    worker thread: a callback that calls back into this app must not find its loop blocked.
    """

    def __init__(self, fake: FakeYouTube, hub_interval_s: float = 0.0) -> None:
        self.fake = fake
        self.hub_interval_s = hub_interval_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        params = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        body = await _body(receive)
        answer = self.fake.answer(scope["method"], scope["path"], params, body, headers)
        if answer.delay_s > 0:
            await asyncio.sleep(answer.delay_s)
        status = answer.status or 200
        # A drop promises a body it never sends, so the client sees the connection cut.
        length = str(len(answer.body) or int(answer.dropped)).encode()
        response_headers = [
            (b"content-type", answer.content_type.encode()),
            (b"content-length", length),
        ]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        if answer.dropped:
            raise DroppedConnection("dropped by fault injection")
        await send({"type": "http.response.body", "body": answer.body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        pumping: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.hub_interval_s > 0:
                    pumping = asyncio.create_task(self._pump_hub(self.hub_interval_s))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if pumping is not None:
                    pumping.cancel()
                    with suppress(asyncio.CancelledError):
                        await pumping
                self.fake.hub.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _pump_hub(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await asyncio.to_thread(self.fake.hub.pump)
            except Exception:
                # One failed pump must not stop the hub for the rest of the run.
                logging.getLogger(__name__).exception("hub pump failed")


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class _QuietDrops(logging.Filter):
    """Injected drops are the point, not an incident: keep their tracebacks out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def create_app(config: FakeConfig | None = None, *, hub_interval_s: float | None = None) -> FakeApp:
    """The ASGI app; without ``config``, options come from ``$YTSCALE_FAKE_ARGS`` (CLI syntax).

    ``hub_interval_s`` defaults to ``--hub-interval`` when options come from the environment
    and to 0 (pump by hand) when ``config`` is given.
    """
    if config is None:
        args = parser().parse_args(shlex.split(os.environ.get("YTSCALE_FAKE_ARGS", "")))
        config = config_from_args(args)
        if hub_interval_s is None:
            hub_interval_s = args.hub_interval
    log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in log.filters):
        log.addFilter(_QuietDrops())
    return FakeApp(FakeYouTube(config), hub_interval_s=hub_interval_s or 0.0)
