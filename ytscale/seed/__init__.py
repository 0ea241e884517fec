"""The population builder: N users × M projects, a content source per user, a tag vocabulary.

```python
summary = seed("sqlite:///var/ytscale.db", SeedConfig(users=100_000, videos_per_user=50))
print(summary.format())          # rows per table, seconds, rows/s (and the raw SQL ratio if asked)
```

Its modules: :mod:`~ytscale.seed.population` (the config and the rows, from the catalogue),
:mod:`~ytscale.seed.backends` (each database's bulk path), :mod:`~ytscale.seed.baseline` (the
same rows by SQL alone, for comparison) and :mod:`~ytscale.seed.build` (load, check, summary).
"""

from ytscale.seed.baseline import raw_baseline_seconds
from ytscale.seed.build import (
    Contents,
    SeedError,
    SeedSummary,
    contents,
    create_schema,
    seed,
    seeded_counts,
)
from ytscale.seed.population import SEEDED, SeedConfig

__all__ = [
    "SEEDED",
    "Contents",
    "SeedConfig",
    "SeedError",
    "SeedSummary",
    "contents",
    "create_schema",
    "raw_baseline_seconds",
    "seed",
    "seeded_counts",
]
