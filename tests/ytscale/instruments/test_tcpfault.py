import socket
import threading
from collections.abc import Iterator
from contextlib import suppress

import pytest

from ytscale.instruments.tcpfault import FaultProxy


@pytest.fixture
def echo() -> Iterator[int]:
    """A loopback echo server's port."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        with conn, suppress(OSError):  # the proxy resets some links
            while data := conn.recv(1024):
                conn.sendall(data)

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def proxy(echo: int) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", echo) as proxy:
        yield proxy


def connect(proxy: FaultProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=5)


def test_it_forwards_both_ways(proxy: FaultProxy) -> None:
    with connect(proxy) as conn:
        conn.sendall(b"ping")
        assert conn.recv(1024) == b"ping"
    assert proxy.counts["connections"] == 1


def test_a_cut_resets_the_open_connections(proxy: FaultProxy) -> None:
    with connect(proxy) as conn:
        conn.sendall(b"a")
        assert conn.recv(1024) == b"a"
        assert proxy.cut() == 1
        with pytest.raises(OSError):
            conn.sendall(b"b")
            if not conn.recv(1024):
                raise ConnectionResetError("closed")
    with connect(proxy) as again:  # new connections go through
        again.sendall(b"c")
        assert again.recv(1024) == b"c"


def test_a_dropped_reply_never_arrives_and_its_link_is_cut(proxy: FaultProxy) -> None:
    proxy.drop_replies(1)
    with connect(proxy) as conn:
        conn.sendall(b"lost")
        with pytest.raises(OSError):
            if not conn.recv(1024):
                raise ConnectionResetError("closed")
    assert proxy.counts["dropped"] == 1


def test_while_down_connections_are_refused(proxy: FaultProxy) -> None:
    # The reset may come before the connect returns, or at the first read.
    with proxy.down(), pytest.raises(OSError), connect(proxy) as conn:
        conn.sendall(b"x")
        if not conn.recv(1024):
            raise ConnectionResetError("closed")
    assert proxy.counts["refused"] == 1


def test_it_refuses_to_relay_off_the_machine() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        FaultProxy("example.com", 80)
