import pytest

from ytscale.net import is_loopback


@pytest.mark.parametrize("host", ["localhost", "LocalHost", "127.0.0.1", "127.9.9.9", "::1"])
def test_loopback_names_and_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    ["0.0.0.0", "::", "10.0.0.5", "192.168.1.1", "staging.example.com", "localhost.example", "",
     "[::1]", "127.0.0.1:8000"],
)  # fmt: skip
def test_anything_else_is_not(host: str) -> None:
    assert not is_loopback(host)
