from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from reference.models import Tool
from ytscale.instruments.querycount import count_queries


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
