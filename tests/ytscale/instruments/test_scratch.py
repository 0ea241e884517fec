"""The scratch schema: what a connection on its URL creates lands there, and is gone after."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from reference.db import make_engine
from tests.backends import POSTGRES_ENV, require_env
from ytscale.instruments.scratch import scratch_schema


def test_a_scratch_schema_holds_what_is_made_in_it_and_is_dropped() -> None:
    base = require_env(POSTGRES_ENV)
    schema = f"ytscale_scratch_{uuid.uuid4().hex[:8]}"
    present = text("SELECT count(*) FROM pg_namespace WHERE nspname = :schema")
    admin = make_engine(base)
    try:
        with scratch_schema(base, schema) as url:
            engine = make_engine(url)
            with engine.begin() as conn:
                conn.execute(text("CREATE TABLE made_here (id integer)"))
                assert conn.scalar(text("SELECT current_schema()")) == schema
            engine.dispose()
            with admin.connect() as conn:
                table = text("SELECT to_regclass(:name) IS NOT NULL")
                assert conn.scalar(table, {"name": f"{schema}.made_here"})
        with admin.connect() as conn:
            assert conn.scalar(present, {"schema": schema}) == 0
    finally:
        admin.dispose()
