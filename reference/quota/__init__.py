"""YouTube Data API quota: what calls cost, and the ledger every call reserves its units in.

```python
from reference.quota import AtomicLedger, QuotaExhausted, cost

ledger = AtomicLedger.from_settings(settings)       # the report's variants: ytscale.variants
reservation = ledger.reserve(cost("videos.list"), user_id=7)
```
"""

from reference.quota.costs import COSTS, DEFAULT_DAILY_QUOTA, cost
from reference.quota.days import QuotaDay
from reference.quota.ledger import (
    DEFAULT_PREFIX,
    AtomicLedger,
    KeyValueLedger,
    QuotaExhausted,
    QuotaLedger,
    Reservation,
)

__all__ = [
    "COSTS",
    "DEFAULT_DAILY_QUOTA",
    "DEFAULT_PREFIX",
    "AtomicLedger",
    "KeyValueLedger",
    "QuotaDay",
    "QuotaExhausted",
    "QuotaLedger",
    "Reservation",
    "cost",
]
