"""Which httpx transport reaches ``YOUTUBE_URL``: the network for http(s), a plugin otherwise.

A package may serve a URL scheme of its own by naming a factory ``(Settings) -> BaseTransport``
in the ``reference.youtube_transports`` entry-point group. The harness registers ``fake``, so the
embedded default ``fake://youtube`` reaches its in-process fake YouTube without the pipeline
importing it; a deployment without the harness installed is told so instead of silently faking.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from reference.settings import Settings

GROUP = "reference.youtube_transports"
NETWORK_SCHEMES = frozenset({"http", "https"})


class TransportFactory(Protocol):
    def __call__(self, settings: Settings) -> httpx.BaseTransport: ...


def transport_for(settings: Settings) -> httpx.BaseTransport | None:
    """The transport for ``settings.youtube_url``; ``None`` means httpx's own (the network)."""
    scheme = urlsplit(settings.youtube_url).scheme
    if scheme in NETWORK_SCHEMES:
        return None
    found = entry_points(group=GROUP, name=scheme)
    if not found:
        raise ValueError(
            f"YOUTUBE_URL={settings.youtube_url!r}: no transport serves {scheme!r}:// here. Use "
            "http(s)://, or install the package that registers it (the ytscale harness serves "
            "fake://)."
        )
    factory: TransportFactory = next(iter(found)).load()
    return factory(settings)
