"""The seed tests' populations (small: the 5M-row build is measured by ``ytscale seed
--raw-baseline``, not here) and a dump of what they wrote."""

from __future__ import annotations

from sqlalchemy import Engine, select

from reference.models import Base
from ytscale.seed import SEEDED, SeedConfig

SMALL = SeedConfig(users=200, videos_per_user=5, n_tools=20, n_categories=5)
TINY = SeedConfig(users=3, videos_per_user=1, n_tools=2, n_categories=1)


def dump(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every seeded table's rows, in a stable order."""
    with engine.connect() as conn:
        return {
            name: [tuple(row) for row in conn.execute(select(table).order_by(*table.c))]
            for name, table in ((n, Base.metadata.tables[n]) for n in SEEDED)
        }
