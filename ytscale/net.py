"""The loopback check: the hub calls back, ``serve`` binds and the load tests send only there
unless told otherwise."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, no port, no brackets) is this machine's loopback."""
    # Host names are case-insensitive; "LOCALHOST" is loopback as much as "localhost".
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
