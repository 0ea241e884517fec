"""A target profile: each action of the scenario as the deployment under test spells it.

```python
profile = Profile.load("loadtests/profiles/standin.toml")
action = profile.actions["import_video"]
action.path_for({})                                  # "/api/v2/jobs/video-import"
action.body_for({"url": "https://youtu.be/x"})       # b'{"video": {"link": "https://youtu.be/x"}}'
action.outcome(409)                                  # "duplicate"
action.read_ids({"job": {"id": "j7"}})               # {"request_id": "j7"}
profile.headers("t0k")                               # {"X-Api-Key": "t0k", ...}
```

A profile names, per action: the method; the path (``{name}`` placeholders take ids an earlier
action read); a JSON body template whose ``"{url}"``, ``"{channel}"`` and ``"{urls}"`` strings the
scenario fills (a whole-string placeholder keeps its value's type, so ``"{urls}"`` becomes a list);
which statuses mean success, accepted and duplicate (anything else is a failure); and where the
ids the next actions need sit in the answer, as JSON pointers (RFC 6901). Headers and auth are
the profile's too. A path must be relative to the host: an absolute URL (``https://other/…``,
``//other/…``) would carry the load past the loopback guard, and is refused.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from loadtests.population import ACTIONS

DEFAULT_PROFILE = Path(__file__).parent / "profiles" / "local.toml"
#: The fields the scenario fills into each action's body.
FIELDS: Mapping[str, frozenset[str]] = {
    "import_video": frozenset({"url"}),
    "import_channel": frozenset({"channel"}),
    "check_videos": frozenset({"urls"}),
}
#: Statuses a profile sorts answers into; a status in none of them fails the request.
OUTCOMES = ("success", "accepted", "duplicate")
#: The action whose ids the status polls use: the scenario polls the video imports it started.
ID_SOURCE = "import_video"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class ProfileError(ValueError):
    """The profile cannot describe the scenario's actions; the message says where."""


@dataclass(frozen=True)
class Action:
    """One request of the scenario, as the target wants it."""

    name: str
    method: str
    path: str
    body: Any = None
    statuses: Mapping[int, str] = field(default_factory=dict)
    #: Id name → JSON pointer into an answer counted success or accepted.
    ids: Mapping[str, str] = field(default_factory=dict)

    @property
    def placeholders(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.path))

    def path_for(self, ids: Mapping[str, str]) -> str:
        return _PLACEHOLDER.sub(lambda m: str(ids[m.group(1)]), self.path)

    def body_for(self, fields: Mapping[str, Any]) -> bytes | None:
        return None if self.body is None else json.dumps(_fill(self.body, fields)).encode()

    def outcome(self, status: int) -> str | None:
        """``success``, ``accepted`` or ``duplicate``; None: the status fails the request."""
        return self.statuses.get(status)

    def read_ids(self, document: Any) -> dict[str, str]:
        """The ids this action's answer carries; KeyError naming the pointer that found none."""
        return {name: str(resolve(document, pointer)) for name, pointer in self.ids.items()}


@dataclass(frozen=True)
class Profile:
    """Every action of the scenario, and the headers and auth sent with each request."""

    actions: Mapping[str, Action]
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    static_headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | str) -> Profile:
        with open(path, "rb") as f:
            data = tomllib.load(f)
        try:
            return cls.from_dict(data)
        except ProfileError as exc:
            raise ProfileError(f"{path}: {exc}") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        tables = data.get("actions", {})
        missing = [action for action in ACTIONS if action not in tables]
        if missing:
            raise ProfileError(f"[actions] lacks {', '.join(missing)}")
        actions = {name: _action(name, tables[name]) for name in ACTIONS}
        provided = set(actions[ID_SOURCE].ids)
        for action in actions.values():
            if unknown := action.placeholders - provided:
                raise ProfileError(
                    f"actions.{action.name}.path uses {', '.join(sorted(unknown))}, which "
                    f"actions.{ID_SOURCE}.ids does not read"
                )
        auth = data.get("auth", {})
        return cls(
            actions=actions,
            auth_header=auth.get("header", cls.auth_header),
            auth_scheme=auth.get("scheme", cls.auth_scheme),
            static_headers={str(k): str(v) for k, v in data.get("headers", {}).items()},
        )

    def headers(self, token: str) -> dict[str, str]:
        value = f"{self.auth_scheme} {token}" if self.auth_scheme else token
        return {**self.static_headers, self.auth_header: value}


def resolve(document: Any, pointer: str) -> Any:
    """The value at a JSON pointer (RFC 6901); KeyError if the document has none there."""
    if pointer == "":
        return document
    value = document
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        elif isinstance(value, dict) and token in value:
            value = value[token]
        else:
            raise KeyError(pointer)
    return value


def _action(name: str, table: Mapping[str, Any]) -> Action:
    where = f"actions.{name}"
    path = table.get("path")
    # "https://other/…" and "//other/…" would be sent there whatever the guarded host.
    if not isinstance(path, str) or not path.startswith("/") or urlsplit(path).netloc:
        raise ProfileError(
            f"{where}.path must be relative to the host (one leading '/'), not {path!r}"
        )
    body = table.get("body")
    used = _body_placeholders(body)
    if unknown := used - FIELDS.get(name, frozenset()):
        fills = ", ".join(sorted(FIELDS.get(name, ()))) or "nothing"
        raise ProfileError(f"{where}.body uses {', '.join(sorted(unknown))}; it fills {fills}")
    statuses: dict[int, str] = {}
    for outcome in OUTCOMES:
        for status in table.get(outcome, []):
            if status in statuses:
                raise ProfileError(
                    f"{where}: status {status} is both {statuses[status]} and {outcome}"
                )
            statuses[int(status)] = outcome
    if not statuses:
        raise ProfileError(f"{where} names no status: give {', '.join(OUTCOMES)} (lists)")
    ids = dict(table.get("ids", {}))
    for id_name, pointer in ids.items():
        if not isinstance(pointer, str) or not (pointer == "" or pointer.startswith("/")):
            raise ProfileError(f"{where}.ids.{id_name} must be a JSON pointer, not {pointer!r}")
    return Action(
        name=name,
        method=str(table.get("method", "GET")).upper(),
        path=path,
        body=body,
        statuses=statuses,
        ids=ids,
    )


def _body_placeholders(template: Any) -> set[str]:
    if isinstance(template, str):
        return set(_PLACEHOLDER.findall(template))
    if isinstance(template, dict):
        return set().union(*(_body_placeholders(v) for v in template.values()))
    if isinstance(template, list):
        return set().union(*(_body_placeholders(v) for v in template))
    return set()


def _fill(template: Any, fields: Mapping[str, Any]) -> Any:
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole:
            return fields[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(fields[m.group(1)]), template)
    if isinstance(template, dict):
        return {key: _fill(value, fields) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(value, fields) for value in template]
    return template
