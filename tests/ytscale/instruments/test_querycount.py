import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from reference import kv
from reference.models import Tool
from ytscale.instruments.querycount import count_queries, count_round_trips


def select_one(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def test_counts_statements_inside_the_block_only(engine: Engine) -> None:
    select_one(engine)
    with count_queries(engine) as queries:
        select_one(engine)
        with Session(engine) as session, session.begin():
            session.add(Tool(name="Blender"))
            session.flush()
            session.scalars(select(Tool)).all()
    select_one(engine)
    assert queries.count == 3, queries.statements
    assert queries.statements[0] == "SELECT 1"
    assert "INSERT INTO tools" in queries.statements[1]


def test_counters_nest_and_stop_counting_on_exit(engine: Engine) -> None:
    with count_queries(engine) as outer:
        select_one(engine)
        with count_queries(engine) as inner:
            select_one(engine)
            select_one(engine)
        select_one(engine)
    select_one(engine)
    assert (outer.count, inner.count) == (4, 2)


def test_counts_every_thread_exactly(engine: Engine) -> None:
    with count_queries(engine) as queries, ThreadPoolExecutor(4) as pool:
        for _ in range(40):
            pool.submit(select_one, engine)
    assert queries.count == 40


def test_round_trips_count_single_commands_scripts_and_pipelines(redis_url: str) -> None:
    client = kv.connect(redis_url)
    script = client.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    key = f"querycount:{uuid.uuid4().hex}"
    client.get(key)
    with count_round_trips(client, client) as trips:
        client.set(key, 1)
        script(keys=[key], args=[2])
        with client.pipeline() as pipe:
            pipe.incr(key).expire(key, 60).execute()
    client.get(key)
    # The script's first call may load it (NOSCRIPT, SCRIPT LOAD, EVALSHA): never fewer than 3.
    assert trips.count >= 3 and trips.names[0] == ("SET",), trips.names
    assert trips.names[-1] == ("INCRBY", "EXPIRE")
    assert trips.commands == trips.count + 1
    client.delete(key)


def test_round_trip_counters_nest_and_unwrap_on_exit(redis_url: str) -> None:
    client = kv.connect(redis_url)
    with count_round_trips(client) as outer:
        client.ping()
        with count_round_trips(client) as inner:
            client.ping()
        client.ping()
    client.ping()
    assert (outer.count, inner.count) == (3, 1)
    assert "execute_command" not in vars(client)
