"""YouTube Data API quota: what calls cost, and the ledger every call reserves its units in.

```python
from reference.quota import QuotaExhausted, cost, ledger_from_settings

ledger = ledger_from_settings(settings)             # ours; "before"/"after" for the report's
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
from ytscale.variants.quota import (
    VARIANTS,
    ReportAfterLedger,
    ReportBeforeLedger,
    ledger_from_settings,
)

__all__ = [
    "COSTS",
    "DEFAULT_DAILY_QUOTA",
    "DEFAULT_PREFIX",
    "VARIANTS",
    "AtomicLedger",
    "KeyValueLedger",
    "QuotaDay",
    "QuotaExhausted",
    "QuotaLedger",
    "ReportAfterLedger",
    "ReportBeforeLedger",
    "Reservation",
    "cost",
    "ledger_from_settings",
]
