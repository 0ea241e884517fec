"""One settings object, read from the environment.

Every backend is chosen by URL, so swapping SQLite for PostgreSQL or fakeredis for Redis is a matter
of setting a variable, never an ``if testing`` branch::

    settings = Settings.from_env()              # embedded defaults: SQLite, fakeredis, fake YouTube
    settings = Settings.from_env({"DATABASE_URL": "postgresql+psycopg://127.0.0.1/test"})
"""

from __future__ import annotations

import os
import re
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
#: The development secret: in the repository, so fit only for a stack nobody else can reach.
DEV_SECRET = "ytscale-dev-secret"
#: How to make a real one (printed by the refusals below and by ``ytscale serve``).
MAKE_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


class UnsafeDeployment(ValueError):
    """Settings that would run, but unsafely or wrongly, where other machines or processes
    depend on them; the message says what to change."""


@dataclass(frozen=True)
class Settings:
    """Where each backend lives and the budgets the pipeline runs under."""

    database_url: str = field(default_factory=lambda: f"sqlite:///{VAR_DIR / 'ytscale.db'}")
    redis_url: str = FAKE_REDIS_URL
    youtube_url: str = FAKE_YOUTUBE_URL
    broker_url: str = "memory://"
    #: Shared secret from which per-user API tokens and WebSub hub secrets are derived.
    secret: str = DEV_SECRET
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
    #: An explicit production deployment (``YTSCALE_ENV=production``): held to
    #: :meth:`check_deployment`'s rules wherever it binds.
    production: bool = False

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
            production=_environment(env.get("YTSCALE_ENV", "development")),
        )

    def check_deployment(self, *, exposed: bool, processes: int) -> None:
        """Refuse (:class:`UnsafeDeployment`) what only a private, single-process stack may use.

        ``exposed``: the API binds an address other than loopback. ``processes``: how many
        processes share the work (an API and a separate worker are two). Exposed or production,
        the development or an empty secret would let anyone who reads the repository mint every
        user's token and sign any notification. More than one process, or production, and the
        ``memory://`` broker or ``fakeredis://`` would be one per process: tasks sent where no
        worker listens, and a quota ledger each process keeps to itself.
        """
        problems = []
        if (exposed or self.production) and self.secret.strip() in ("", DEV_SECRET):
            where = "in production" if self.production else "on an address other than loopback"
            which = "the development default" if self.secret.strip() else "empty"
            problems.append(
                f"YTSCALE_SECRET is {which} {where}: every token and hub secret derives from it."
                f" Set it to a random value ({MAKE_SECRET})."
            )
        if processes > 1 or self.production:
            why = "in production" if self.production else f"across {processes} processes"
            if self.broker_url.startswith("memory://"):
                problems.append(
                    f"BROKER_URL=memory:// {why}: each process would have its own queue. "
                    "Use a shared broker (redis://...)."
                )
            if self.redis_url.startswith("fakeredis://"):
                problems.append(
                    f"REDIS_URL=fakeredis:// {why}: each process would keep its own quota ledger. "
                    "Use a shared Redis (redis://...)."
                )
        if problems:
            raise UnsafeDeployment("refusing to start: " + " ".join(problems))

    def describe(self) -> dict[str, str]:
        """The settings without secrets, for banners and run manifests."""
        return {
            "database_url": redact_url(self.database_url),
            "redis_url": redact_url(self.redis_url),
            "youtube_url": redact_url(self.youtube_url),
            "broker_url": redact_url(self.broker_url),
            "daily_quota": str(self.daily_quota),
            "user_quota": str(self.user_quota),
            "sync_strategy": self.sync_strategy.value,
            "feed_url": redact_url(self.feed_base_url),
            "hub_url": redact_url(self.hub_subscribe_url),
            "callback_url": redact_url(self.callback_url),
        }


def _environment(name: str) -> bool:
    """Whether ``YTSCALE_ENV`` says production; anything but its two names is refused."""
    if name not in ("development", "production"):
        raise ValueError(f"YTSCALE_ENV must be 'development' or 'production', not {name!r}")
    return name == "production"


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


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact_text(text: str) -> str:
    """``text`` with every URL in it passed through :func:`redact_url`: for error messages that
    quote the URL they failed on."""
    return _URL.sub(lambda m: redact_url(m.group(0)), text)
