"""The raw baseline: timed in a scratch database that is gone afterwards."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from reference.db import make_engine
from ytscale.fake.catalogue import EPOCH
from ytscale.seed import SEEDED, raw_baseline_seconds


def test_raw_baseline_leaves_no_scratch_behind(url: str, tmp_path: Path) -> None:
    assert raw_baseline_seconds(url, {name: 10 for name in SEEDED}, EPOCH) > 0
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                left = "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ytscale_raw_%'"
                assert conn.scalars(text(left)).all() == []
            else:
                assert [p.name for p in tmp_path.iterdir() if "raw" in p.name] == []
    finally:
        engine.dispose()
