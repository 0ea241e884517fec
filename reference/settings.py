"""One settings object, read from the environment.

Every backend is chosen by URL, so swapping SQLite for PostgreSQL or fakeredis for Redis is a matter
of setting a variable, never an ``if testing`` branch::

    settings = Settings.from_env()              # embedded defaults: SQLite, fakeredis, fake YouTube
    settings = Settings.from_env({"DATABASE_URL": "postgresql+psycopg://127.0.0.1/test"})
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote_plus

from reference.strategies import SyncStrategy

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"

#: The in-process fake YouTube Data API (an httpx transport, no socket).
FAKE_YOUTUBE_URL = "fake://youtube"
#: An in-process fakeredis server with Lua support.
FAKE_REDIS_URL = "fakeredis://"


@dataclass(frozen=True)
class Settings:
    """Where each backend lives and the budgets the pipeline runs under."""

    database_url: str = field(default_factory=lambda: f"sqlite:///{VAR_DIR / 'ytscale.db'}")
    redis_url: str = FAKE_REDIS_URL
    youtube_url: str = FAKE_YOUTUBE_URL
    broker_url: str = "memory://"
    #: Shared secret from which per-user API tokens are derived (issue 4).
    secret: str = "ytscale-dev-secret"
    #: The Google Cloud project's daily quota: the budget every user shares.
    daily_quota: int = 10_000
    #: Optional per-user fair share layered on the project budget (None: no per-user cap).
    user_quota: int | None = None
    #: API key sent to YouTube; the fake accepts any.
    youtube_api_key: str = "fake-key"
    #: Seconds a YouTube request may take before it counts as timed out.
    youtube_timeout_s: float = 10.0
    #: Broker visibility timeout override (seconds); unset, it is derived in ``reference.tasks``.
    visibility_timeout_s: int | None = None
    #: Namespace of every key this deployment keeps in Redis, so deployments can share a server.
    key_prefix: str = "ytscale:"
    #: How sources learn of new uploads; a plain name is taken for the member it names.
    sync_strategy: SyncStrategy = SyncStrategy.API_POLLING
    #: Host of the public channel feeds (``/feeds/videos.xml``); empty: ``youtube_url``, which is
    #: right for the fake. Real YouTube: ``https://www.youtube.com``.
    feed_url: str = ""
    #: The WebSub hub's subscribe endpoint; empty: ``{youtube_url}/subscribe`` (the fake's hub).
    #: Real YouTube: ``https://pubsubhubbub.appspot.com/subscribe``.
    hub_url: str = ""
    #: Public base URL of this deployment's API, where the hub posts notifications.
    callback_url: str = "http://127.0.0.1:8000"

    def __post_init__(self) -> None:
        # Frozen, so the name given (an environment variable, a test's string) is swapped for the
        # member here, where an unknown one is also refused.
        object.__setattr__(self, "sync_strategy", SyncStrategy.named(self.sync_strategy))

    @property
    def feed_base_url(self) -> str:
        return self.feed_url or self.youtube_url

    @property
    def hub_subscribe_url(self) -> str:
        return self.hub_url or f"{self.youtube_url.rstrip('/')}/subscribe"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``); unset names keep defaults."""
        env = os.environ if environ is None else environ
        base = cls()
        user_quota = env.get("YTSCALE_USER_QUOTA")
        visibility = env.get("YTSCALE_VISIBILITY_TIMEOUT_S")
        return replace(
            base,
            database_url=env.get("DATABASE_URL", base.database_url),
            redis_url=env.get("REDIS_URL", base.redis_url),
            youtube_url=env.get("YOUTUBE_URL", base.youtube_url),
            broker_url=env.get("BROKER_URL", base.broker_url),
            secret=env.get("YTSCALE_SECRET", base.secret),
            daily_quota=int(env.get("YTSCALE_DAILY_QUOTA", base.daily_quota)),
            user_quota=int(user_quota) if user_quota else None,
            youtube_api_key=env.get("YOUTUBE_API_KEY", base.youtube_api_key),
            key_prefix=env.get("YTSCALE_KEY_PREFIX", base.key_prefix),
            youtube_timeout_s=float(env.get("YOUTUBE_TIMEOUT_S", base.youtube_timeout_s)),
            visibility_timeout_s=int(visibility) if visibility else None,
            sync_strategy=SyncStrategy.named(env.get("YTSCALE_SYNC_STRATEGY", base.sync_strategy)),
            feed_url=env.get("YOUTUBE_FEED_URL", base.feed_url),
            hub_url=env.get("WEBSUB_HUB_URL", base.hub_url),
            callback_url=env.get("YTSCALE_CALLBACK_URL", base.callback_url),
        )

    def describe(self) -> dict[str, str]:
        """The settings without secrets, for banners and run manifests."""
        return {
            "database_url": redact_url(self.database_url),
            "redis_url": redact_url(self.redis_url),
            "youtube_url": self.youtube_url,
            "broker_url": redact_url(self.broker_url),
            "daily_quota": str(self.daily_quota),
            "user_quota": str(self.user_quota),
            "sync_strategy": self.sync_strategy.value,
            "feed_url": self.feed_base_url,
            "hub_url": self.hub_subscribe_url,
            "callback_url": self.callback_url,
        }


def redact_url(url: str) -> str:
    """``url`` with its password hidden, in ``scheme://user:password@host`` and in a
    ``password=`` query value (libpq's and redis-py's other spelling of it)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    rest, q, query = rest.partition("?")
    creds, at, host = rest.rpartition("@")
    if at and ":" in creds:
        rest = f"{creds.split(':', 1)[0]}:***@{host}"
    if query:
        query = "&".join(
            f"{key}=***" if unquote_plus(key).lower() == "password" and eq else f"{key}{eq}{value}"
            for key, eq, value in (item.partition("=") for item in query.split("&"))
        )
    return f"{scheme}://{rest}{q}{query}"
