"""What each YouTube Data API call costs, per the official quota table.

Source: "YouTube Data API (v3) - Quota Calculator",
https://developers.google.com/youtube/v3/determine_quota_cost (read 2026-11-29). The facts used:

- every request, including an invalid one, costs at least 1 unit;
- ``videos.list``, ``channels.list`` and ``playlistItems.list`` cost **1 unit per call**, whatever
  the ``part`` list and however many ids (up to 50) the call names; the P0 report's "3 units for a
  video fetch with 3 parts" is not in the table;
- each further page of a paginated list is a new request at the same cost;
- a project's default allocation is 10,000 units per day for these endpoints, shared by every user
  of the project (``search.list`` and ``videos.insert`` have buckets of their own: 100 calls a day);
- daily quotas reset at midnight Pacific Time (America/Los_Angeles, so the reset follows DST).
"""

from __future__ import annotations

from typing import Final

#: Units per call of the read endpoints the pipeline uses.
COSTS: Final[dict[str, int]] = {
    "videos.list": 1,
    "channels.list": 1,
    "playlistItems.list": 1,
    "playlists.list": 1,
    "activities.list": 1,
    "search.list": 100,
}

#: Ids that one ``videos.list`` call may name.
MAX_IDS_PER_CALL: Final = 50
#: Items one ``playlistItems.list`` page may return.
MAX_RESULTS_PER_PAGE: Final = 50
#: The Google Cloud project's default daily allocation.
DEFAULT_DAILY_QUOTA: Final = 10_000
#: The time zone whose midnight resets the daily quota.
RESET_TIMEZONE: Final = "America/Los_Angeles"


def cost(method: str) -> int:
    """Units one call of ``method`` ("resource.method") costs; unknown methods raise KeyError."""
    try:
        return COSTS[method]
    except KeyError:
        raise KeyError(f"no quota cost recorded for YouTube method {method!r}") from None
