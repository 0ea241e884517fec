"""A loopback TCP proxy that cuts, delays or swallows what passes, for fault tests on real servers.

Put it between the pipeline and a backend (PostgreSQL, Redis) and the pipeline meets real network
faults, through its real drivers: a connection reset mid-command, a reply that never comes after
the server acted on the request, a server that refuses connections for a while::

    with FaultProxy("127.0.0.1", 6379) as proxy:        # the pipeline connects to proxy.port
        proxy.cut()                                      # every open connection reset
        proxy.drop_replies(1)                            # the next reply swallowed, its link cut
        proxy.delay_s = 0.05                             # each chunk held 50 ms, both ways
        with proxy.down():                               # refused, as a restarting server would
            ...

Only loopback targets: the proxy is a test instrument, never a relay off the machine.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import Self

from ytscale.net import is_loopback

_CHUNK = 65536


class FaultProxy:
    """Forward ``127.0.0.1:port`` to ``target_host:target_port``, with faults on command."""

    def __init__(self, target_host: str, target_port: int) -> None:
        if not is_loopback(target_host):
            raise ValueError(f"the fault proxy forwards to loopback only, not {target_host!r}")
        self.target = (target_host, target_port)
        #: Seconds each chunk is held before it is passed on, in both directions.
        self.delay_s = 0.0
        #: What happened: connections, cuts (links reset), dropped (replies swallowed), refused,
        #: delayed (chunks held).
        self.counts: Counter[str] = Counter()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._links: set[_Link] = set()
        self._lock = threading.Lock()
        self._replies_to_drop = 0
        self._down = False
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)

    @property
    def port(self) -> int:
        port: int = self._listener.getsockname()[1]
        return port

    def start(self) -> Self:
        self._acceptor.start()
        return self

    def close(self) -> None:
        self._closed = True
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self.cut()
        self._acceptor.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def cut(self) -> int:
        """Reset every open connection, both ends; returns how many were cut."""
        with self._lock:
            links, self._links = list(self._links), set()
        for link in links:
            link.reset()
        self.counts["cuts"] += len(links)
        return len(links)

    def drop_replies(self, n: int = 1) -> None:
        """Swallow the next ``n`` chunks the server sends, cutting each one's link: the server has
        acted on the request, the client never hears so."""
        with self._lock:
            self._replies_to_drop += n

    @contextmanager
    def down(self) -> Iterator[None]:
        """While the block runs, open connections are cut and new ones refused."""
        self._down = True
        self.cut()
        try:
            yield
        finally:
            self._down = False

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._down:
                self.counts["refused"] += 1
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                self.counts["refused"] += 1
                _reset(client)
                continue
            upstream.settimeout(None)
            link = _Link(self, client, upstream)
            with self._lock:
                self._links.add(link)
            self.counts["connections"] += 1
            link.start()

    def _take_drop(self) -> bool:
        with self._lock:
            if self._replies_to_drop > 0:
                self._replies_to_drop -= 1
                return True
            return False

    def _forget(self, link: _Link) -> None:
        with self._lock:
            self._links.discard(link)


class _Link:
    """One client connection and its upstream connection, pumped by two threads."""

    def __init__(self, proxy: FaultProxy, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self._ended = threading.Event()

    def start(self) -> None:
        for source, sink, replies in (
            (self.client, self.upstream, False),
            (self.upstream, self.client, True),
        ):
            threading.Thread(
                target=self._pump,
                args=(source, sink, replies),
                name="fault-proxy-pump",
                daemon=True,
            ).start()

    def reset(self) -> None:
        if self._ended.is_set():
            return
        self._ended.set()
        _reset(self.client)
        _reset(self.upstream)
        self.proxy._forget(self)

    def _pump(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        try:
            while not self._ended.is_set():
                data = source.recv(_CHUNK)
                if not data:
                    break
                if replies and self.proxy._take_drop():
                    self.proxy.counts["dropped"] += 1
                    break
                if delay := self.proxy.delay_s:
                    self.proxy.counts["delayed"] += 1
                    time.sleep(delay)
                sink.sendall(data)
        except OSError:
            pass
        self.reset()


def _reset(sock: socket.socket) -> None:
    # SO_LINGER 0: the peer gets a RST, as from a crashed host, not a clean FIN. The shutdown wakes
    # the pump blocked reading this socket, which a bare close would leave waiting.
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
