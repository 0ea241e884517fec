"""``--check-profile``: one request per action against the target, a table of what matched, and
no load.

```bash
locust --config loadtests/locust.conf --host http://127.0.0.1:8100 \\
    --target-profile loadtests/profiles/standin.toml --tokens-csv keys.csv \\
    --videos-file videos.txt --channels-file channels.txt --check-profile
```

Each action is sent once, as the scenario would send it, as one user: the video import first
(again with another URL, up to :data:`IMPORT_TRIES` times, while the target says duplicate, so
the status poll has an id to ask about), then the poll with the ids it read, then the rest.
A row matches when the status is one the profile sorts (success, accepted, duplicate) and a
success carries the ids the profile reads. Exit code 0 when every row matches, 1 otherwise; the
host guard applies as in a run (exit 2 before any request). Redirects are not followed.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from locust import events
from locust.env import Environment

from loadtests.profile import ID_SOURCE, Action
from loadtests.target import RemoteHostRefused, Target, require_loopback
from loadtests.videos import NOT_A_VIDEO

log = logging.getLogger(__name__)
#: Video imports tried while the target answers "duplicate".
IMPORT_TRIES = 3
#: Exit code of a check with a row that did not match.
MISMATCH = 1


@dataclass(frozen=True)
class Row:
    action: str
    request: str
    status: int | None
    outcome: str
    matched: bool
    note: str = ""


def check_profile(client: httpx.Client, target: Target, rng: random.Random) -> list[Row]:
    """One request per action (the video import until it is not a duplicate), in order."""
    user_id, token = target.tokens.pick(rng)
    actions, videos = target.profile.actions, target.videos
    rows: list[Row] = []
    ids: dict[str, str] = {}
    for _ in range(IMPORT_TRIES):
        row, ids = _send(client, target, actions[ID_SOURCE], token, {"url": videos.fresh_url(rng)})
        if row.outcome != "duplicate":
            break
    rows.append(row)
    status = actions["import_status"]
    if status.placeholders and not ids:
        rows.append(Row(status.name, f"{status.method} {status.path}", None, "-", False,
                        f"no ids from {ID_SOURCE} to ask about"))  # fmt: skip
    else:
        rows.append(_send(client, target, status, token, None, ids)[0])
    owned = videos.owned_url(user_id, rng) or videos.fresh_url(rng)
    fields = {
        "import_channel": {"channel": videos.channel(rng)},
        "check_videos": {"urls": [videos.fresh_url(rng), owned, NOT_A_VIDEO]},
    }
    for name in ("import_channel", "check_videos", "quota", "sources", "ping"):
        rows.append(_send(client, target, actions[name], token, fields.get(name))[0])
    return rows


def table(rows: Sequence[Row]) -> str:
    """The rows as a fixed-width table, a verdict line under it."""
    header = ("action", "request", "status", "outcome", "matched", "note")
    cells = [header] + [
        (r.action, r.request, str(r.status or "-"), r.outcome, "yes" if r.matched else "NO", r.note)
        for r in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=False)) + "  " + line[-1]
             for line in cells]  # fmt: skip
    bad = sum(not r.matched for r in rows)
    verdict = (
        "profile check: every action matched"
        if not bad
        else (f"profile check: {bad} of {len(rows)} actions did not match")
    )
    return "\n".join([*lines, verdict])


def _send(
    client: httpx.Client,
    target: Target,
    action: Action,
    token: str,
    fields: dict[str, Any] | None,
    ids: dict[str, str] | None = None,
) -> tuple[Row, dict[str, str]]:
    path = action.path_for(ids or {})
    request = f"{action.method} {path}"
    headers = target.profile.headers(token)
    body = action.body_for(fields) if fields is not None else None
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        response = client.request(action.method, path, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return Row(action.name, request, None, "-", False, f"{type(exc).__name__}: {exc}"), {}
    outcome = action.outcome(response.status_code)
    if outcome is None:
        expected = ", ".join(f"{s} {o}" for s, o in sorted(action.statuses.items()))
        moved = response.headers.get("Location") if response.is_redirect else None
        note = f"expected {expected}" + (f"; redirect to {moved} not followed" if moved else "")
        note += f"; body: {response.text[:120]!r}"
        return Row(action.name, request, response.status_code, "unexpected", False, note), {}
    read: dict[str, str] = {}
    if action.ids and outcome != "duplicate":
        try:
            read = action.read_ids(response.json())
        except (KeyError, ValueError) as exc:
            note = f"no id at {exc}: {response.text[:120]!r}"
            return Row(action.name, request, response.status_code, outcome, False, note), {}
    note = ", ".join(f"{k}={v}" for k, v in read.items())
    return Row(action.name, request, response.status_code, outcome, True, note), read


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument(
        "--check-profile",
        action="store_true",
        help="send one request per action, print what matched, send no load",
    )


@events.init.add_listener
def _check(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None or not options.check_profile:
        return
    host = environment.host or options.host
    try:
        require_loopback(host, allow_remote=options.allow_remote_host)
    except RemoteHostRefused as exc:
        log.error("%s", exc)
        raise SystemExit(2) from None
    if not host:
        log.error("--check-profile needs --host")
        raise SystemExit(2)
    target = Target.from_options(options)
    with httpx.Client(base_url=host, timeout=30.0, follow_redirects=False) as client:
        rows = check_profile(client, target, random.Random())
    print(table(rows), flush=True)
    raise SystemExit(0 if all(r.matched for r in rows) else MISMATCH)
