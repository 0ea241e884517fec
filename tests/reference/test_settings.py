from dataclasses import replace

import pytest

from reference.settings import (
    FAKE_REDIS_URL,
    FAKE_YOUTUBE_URL,
    Settings,
    UnsafeDeployment,
    redact_text,
    redact_url,
)
from reference.strategies import SyncStrategy


def test_defaults_need_no_server() -> None:
    s = Settings.from_env({})
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("var/ytscale.db")
    assert s.redis_url == FAKE_REDIS_URL
    assert s.youtube_url == FAKE_YOUTUBE_URL
    assert s.broker_url == "memory://"
    assert s.daily_quota == 10_000 and s.user_quota is None


def test_every_backend_is_one_variable_away() -> None:
    s = Settings.from_env(
        {
            "DATABASE_URL": "postgresql+psycopg://u:pw@127.0.0.1/test",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "YOUTUBE_URL": "http://127.0.0.1:8001",
            "BROKER_URL": "redis://127.0.0.1:6379/1",
            "YTSCALE_USER_QUOTA": "500",
        }
    )
    assert s.redis_url == "redis://127.0.0.1:6379/0"
    assert s.youtube_url == "http://127.0.0.1:8001"
    assert s.broker_url == "redis://127.0.0.1:6379/1"
    assert s.user_quota == 500
    assert s.describe()["database_url"] == "postgresql+psycopg://u:***@127.0.0.1/test"


def test_the_sync_strategy_and_its_hosts_are_one_variable_away() -> None:
    s = Settings.from_env({})
    assert s.sync_strategy == "api_polling"
    # The fake serves the feed and the hub on its own host.
    assert (s.feed_base_url, s.hub_subscribe_url) == (FAKE_YOUTUBE_URL, "fake://youtube/subscribe")
    real = Settings.from_env(
        {
            "YTSCALE_SYNC_STRATEGY": "push",
            "YOUTUBE_FEED_URL": "https://www.youtube.com",
            "WEBSUB_HUB_URL": "https://pubsubhubbub.appspot.com/subscribe",
            "YTSCALE_CALLBACK_URL": "https://ytscale.example/",
        }
    )
    assert real.sync_strategy == "push" and real.describe()["sync_strategy"] == "push"
    assert real.feed_base_url == "https://www.youtube.com"
    assert real.hub_subscribe_url == "https://pubsubhubbub.appspot.com/subscribe"


def test_an_unknown_sync_strategy_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="carrier_pigeon.*api_polling"):
        Settings.from_env({"YTSCALE_SYNC_STRATEGY": "carrier_pigeon"})


def test_a_strategy_given_by_name_is_held_as_the_member() -> None:
    s = replace(Settings(), sync_strategy="feed_polling")
    assert s.sync_strategy is SyncStrategy.FEED_POLLING
    assert s.sync_strategy.interval == SyncStrategy.FEED_POLLING.interval
    with pytest.raises(ValueError, match="unknown sync strategy 'carrier_pigeon'"):
        Settings(sync_strategy="carrier_pigeon")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://u:pw@127.0.0.1/test", "postgresql+psycopg://u:***@127.0.0.1/test"),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        (
            "postgresql://u@db/test?sslmode=require&password=pw&options=-csearch_path%3Dx",
            "postgresql://u@db/test?sslmode=require&password=***&options=-csearch_path%3Dx",
        ),
        ("redis://cache:6379/0?PASSWORD=pw", "redis://cache:6379/0?PASSWORD=***"),
        ("postgresql://u:p@ss@db/x?password=q", "postgresql://u:***@db/x?password=***"),
        ("sqlite:///var/ytscale.db", "sqlite:///var/ytscale.db"),
        ("postgresql://u@db/test?passwords=kept", "postgresql://u@db/test?passwords=kept"),
        ("memory://", "memory://"),
    ],
    ids=["userinfo", "no-user", "query", "query-any-case", "both", "sqlite", "other-key", "bare"],
)
def test_redact_url_hides_every_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown


REAL = {"broker_url": "redis://127.0.0.1:6379/1", "redis_url": "redis://127.0.0.1:6379/0"}


@pytest.mark.parametrize(
    ("changes", "exposed", "processes", "refused"),
    [
        ({}, False, 1, None),  # the embedded stack on loopback
        ({}, True, 1, "YTSCALE_SECRET is the development default on an address"),
        ({"secret": " "}, True, 1, "YTSCALE_SECRET is empty"),
        ({"secret": "s3cret"}, True, 1, None),
        ({"production": True, **REAL}, False, 1, "development default in production"),
        ({"production": True, "secret": "s3cret"}, False, 1, "BROKER_URL=memory:// in production"),
        ({"secret": "s3cret"}, False, 2, "REDIS_URL=fakeredis:// across 2 processes"),
        ({"secret": "s3cret", **REAL}, True, 4, None),
        ({"production": True, "secret": "s3cret", **REAL}, False, 1, None),
    ],
)
def test_a_deployment_others_reach_refuses_the_dev_secret_and_private_backends(
    changes: dict[str, object], exposed: bool, processes: int, refused: str | None
) -> None:
    settings = replace(Settings(), **changes)  # type: ignore[arg-type]
    if refused is None:
        settings.check_deployment(exposed=exposed, processes=processes)
        return
    with pytest.raises(UnsafeDeployment, match=refused) as info:
        settings.check_deployment(exposed=exposed, processes=processes)
    assert settings.secret.strip() == "" or settings.secret not in str(info.value)


def test_production_is_one_variable_away_and_only_two_names_are_taken() -> None:
    assert Settings.from_env({"YTSCALE_ENV": "production"}).production
    assert not Settings.from_env({}).production
    with pytest.raises(ValueError, match="'prod'"):
        Settings.from_env({"YTSCALE_ENV": "prod"})


def test_redact_text_hides_the_password_of_every_url_it_quotes() -> None:
    text = "could not connect to 'redis://:hunter2@db:6379/0', then postgresql://u:pw@h/x?a=1."
    assert redact_text(text) == (
        "could not connect to 'redis://:***@db:6379/0', then postgresql://u:***@h/x?a=1."
    )


def test_described_settings_show_no_password_or_key_whatever_url_holds_one() -> None:
    names = ("database_url", "redis_url", "youtube_url", "broker_url", "hub_url", "callback_url")
    settings = replace(
        Settings(secret="s3cret", youtube_api_key="AIza-key"),
        **{name: f"https://u:pw-{name}@h/x?password=pw2" for name in names},  # type: ignore[arg-type]
    )
    shown = str(settings.describe())
    assert "pw" not in shown and "s3cret" not in shown and "AIza-key" not in shown
