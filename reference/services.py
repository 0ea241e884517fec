"""The composition root: every backend the pipeline uses, built from one :class:`Settings`.

Backends differ only by URL — SQLite or PostgreSQL, fakeredis or Redis, the in-process fake
YouTube or an HTTP host — so tests, the load-test stack and production build this the same way::

    services = Services.from_settings(Settings.from_env())
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from reference import kv
from reference.clock import Clock, utc_now
from reference.db import make_engine, session_factory
from reference.matching import AliasIndexCache, CachedMatcher
from reference.push import HubClient
from reference.quota import AtomicLedger, QuotaLedger
from reference.settings import Settings
from reference.vocabulary import VocabularyVersion
from reference.youtube.client import ClientConfig, YouTubeClient
from reference.youtube.feed import FeedReader
from reference.youtube.transports import transport_for


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: kv.Store
    ledger: QuotaLedger
    youtube: YouTubeClient
    matcher: CachedMatcher
    #: The channels' public feeds and the WebSub hub: how sources learn of uploads without quota.
    feeds: FeedReader
    hub: HubClient
    #: What "now" is for the pipeline's schedules and leases (a simulated clock in the report).
    clock: Clock = field(default=utc_now)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        youtube_transport: httpx.BaseTransport | None = None,
        clock: Clock = utc_now,
    ) -> Services:
        """Connect to every backend ``settings`` names; ``youtube_transport`` overrides the URL.

        The Data API, the feeds and the hub share the one transport: the fake serves all three.
        """
        engine = make_engine(settings.database_url)
        store = kv.connect(settings.redis_url)
        ledger = AtomicLedger.from_settings(
            settings, prefix=f"{settings.key_prefix}quota:", clock=clock
        )
        version = VocabularyVersion(store, key=f"{settings.key_prefix}vocabulary:version")
        cache = AliasIndexCache(engine, version)
        transport = youtube_transport or transport_for(settings)
        timeout = _client_config(settings).timeout
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            redis=store,
            ledger=ledger,
            youtube=YouTubeClient(
                settings.youtube_url,
                settings.youtube_api_key,
                ledger,
                transport=transport,
                config=_client_config(settings),
            ),
            matcher=CachedMatcher(engine, cache),
            feeds=FeedReader(settings.feed_base_url, transport=transport, timeout=timeout),
            hub=HubClient(settings, transport=transport),
            clock=clock,
        )

    def close(self) -> None:
        self.youtube.close()
        self.feeds.close()
        self.hub.close()
        self.engine.dispose()


def _client_config(settings: Settings) -> ClientConfig:
    timeout = settings.youtube_timeout_s
    return ClientConfig(timeout=httpx.Timeout(timeout, connect=min(3.0, timeout), pool=5.0))
