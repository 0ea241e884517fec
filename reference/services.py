"""The composition root: every backend the pipeline uses, built from one :class:`Settings`.

Backends differ only by URL — SQLite or PostgreSQL, fakeredis or Redis, the in-process fake
YouTube or an HTTP host — so tests, the load-test stack and production build this the same way::

    services = Services.from_settings(Settings.from_env())
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from reference import kv
from reference.db import make_engine, session_factory
from reference.matching import AliasIndexCache, CachedMatcher
from reference.quota import QuotaLedger, ledger_from_settings
from reference.settings import Settings
from reference.vocabulary import VocabularyVersion
from reference.youtube.client import ClientConfig, YouTubeClient, client_from_settings


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: redis.Redis
    ledger: QuotaLedger
    youtube: YouTubeClient
    matcher: CachedMatcher

    @classmethod
    def from_settings(
        cls, settings: Settings, *, youtube_transport: httpx.BaseTransport | None = None
    ) -> Services:
        """Connect to every backend ``settings`` names; ``youtube_transport`` overrides the URL."""
        engine = make_engine(settings.database_url)
        store = kv.connect(settings.redis_url)
        ledger = ledger_from_settings(settings, prefix=f"{settings.key_prefix}quota:")
        version = VocabularyVersion(store, key=f"{settings.key_prefix}vocabulary:version")
        cache = AliasIndexCache(engine, version)
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            redis=store,
            ledger=ledger,
            youtube=client_from_settings(
                settings, ledger, youtube_transport, config=_client_config(settings)
            ),
            matcher=CachedMatcher(engine, cache),
        )

    def close(self) -> None:
        self.youtube.close()
        self.engine.dispose()


def _client_config(settings: Settings) -> ClientConfig:
    timeout = settings.youtube_timeout_s
    return ClientConfig(timeout=httpx.Timeout(timeout, connect=min(3.0, timeout), pool=5.0))
