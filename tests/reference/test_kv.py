import pytest
import redis
from redis.cluster import RedisCluster

from reference import kv
from reference.vocabulary import VocabularyVersion
from tests.backends import LEDGER_STORES, store_url


@pytest.fixture(params=LEDGER_STORES)
def redis_url(request: pytest.FixtureRequest) -> str:
    return store_url(request.param)


def test_a_cluster_url_gives_a_cluster_client(redis_url: str) -> None:
    client = kv.connect(redis_url)
    assert isinstance(client, RedisCluster) == redis_url.startswith("redis+cluster://")


def test_the_vocabulary_version_counts_on_every_store(redis_url: str, key_prefix: str) -> None:
    version = VocabularyVersion(kv.connect(redis_url), key=f"{key_prefix}vocabulary:version")
    assert (version.current(), version.bump(), version.bump(), version.current()) == (0, 1, 2, 2)


def test_tagged_keys_of_one_group_share_a_slot_and_groups_spread() -> None:
    day = [kv.tagged("ytscale:quota:2025-06-15", name) for name in ("project", "user:7")]
    assert len({redis.cluster.key_slot(key.encode()) for key in day}) == 1
    days = [kv.tagged(f"ytscale:quota:2025-06-{d:02}", "project") for d in range(1, 31)]
    assert len({redis.cluster.key_slot(key.encode()) for key in days}) > 1


def test_an_unknown_scheme_names_the_ones_that_work() -> None:
    with pytest.raises(ValueError, match=r"redis\+cluster://"):
        kv.connect("memcached://127.0.0.1")
