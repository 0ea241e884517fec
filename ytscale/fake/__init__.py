"""A fake YouTube: the Data API v3 (quota-metered), the public Atom feeds and a WebSub hub, over a
synthetic catalogue, with injectable faults; in process (an httpx transport) or under uvicorn."""
