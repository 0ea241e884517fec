"""YouTube Data API v3, the client side: the client (``client``), its errors, parsers and breaker,
and the public Atom feed reader. The fake YouTube it is tested against is ``ytscale.fake``."""
