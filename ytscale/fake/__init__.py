"""A fake YouTube: the Data API v3 (quota-metered), the public Atom feeds and a WebSub hub, over a
synthetic catalogue, with injectable faults; in process (an httpx transport) or under uvicorn.

- ``youtube``: :class:`FakeYouTube`, what each request is answered with and what it is charged
- ``resources``: the JSON resources (videos, channels, playlist items, list pages)
- ``meter``: the quota meter, per Pacific-Time day
- ``catalogue``: the channels and videos, computed on demand from a seed
- ``faults``: errors, drops, storms and latency, drawn from a seed
- ``hub``: the WebSub hub; ``atom``: the feeds it and ``/feeds/videos.xml`` send
- ``transports``: the in-process transport, for ``httpx.Client`` and ``AsyncClient``
- ``app``: the ASGI app; ``cli``: its options; ``python -m ytscale.fake``: it under uvicorn
"""
