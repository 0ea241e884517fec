"""Schemathesis drives every operation of the API's OpenAPI schema, WebSub callback included.

Each case comes from the schema (path, query, headers, body), and one in three of its strings is
swapped for something hostile: a prefix that breaks URL parsers (an unclosed IPv6 bracket),
characters databases and ``hmac`` refuse, or the name of a channel some source syncs, so the
WebSub routes get past their patterns to the code that stores leases. Integers come from the
schema's whole range (a lease of 2**63 seconds included). The stateful run follows the schema's
links: an accepted import to its status, a page of sources to the next. Any 5xx fails the test.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation

from reference import push
from reference.api import create_app
from reference.auth import token_for
from reference.clock import utc_now
from reference.models import ContentSource
from reference.services import Services
from reference.settings import Settings
from reference.youtube.atom import topic_url
from tests.reference.test_api import VIDEO, Recorder

#: A channel user 1 syncs, with a subscription we have asked the hub for.
SYNCED = "UC" + "s" * 22
#: What gets past each parameter's validation to the code behind it, by parameter name.
_KNOWN = {
    "channel_id": SYNCED,
    "hub.topic": topic_url(SYNCED),
    "hub.mode": "subscribe",
    "X-Hub-Signature": "sha1=",
    "url": f"https://youtu.be/{VIDEO}?t=",
    "channel": "youtube.com/@chan1?",
}
#: Prefixes known to upset parsers, and characters known to upset databases, logs and hmac.
_HOSTILE = ["https://[", "http://[", "https://[youtube.com/@", "\x00", "\u00e9", "\u2028", "%00"]
TOKEN = token_for(Settings().secret, 1)
#: Tallies of what ran, printed at the end (``pytest -s``) for the issue's note.
TALLY: Counter[str] = Counter()


def _sendable(text: str) -> bool:
    # Header values travel as Latin-1 and no client sends a control character in one.
    return text.isprintable() and max(text, default="a") <= "\xff"


def _mutate(value: Any, *, name: str = "", header: bool = False) -> st.SearchStrategy[Any]:
    """``value``, or its strings replaced by or prefixed with known and hostile ones."""
    if isinstance(value, str):
        known = _KNOWN.get(name)
        special = st.sampled_from([*_HOSTILE, *([known] if known else [])])
        prefix = st.lists(special, min_size=1, max_size=2).map("".join)
        text = st.one_of(
            st.just(value),
            st.just(known or value),
            prefix,
            st.builds(str.__add__, prefix, st.just(value)),
            # Past the validation that the known value satisfies, into what parses the rest.
            st.builds("".join, st.tuples(st.just(known or ""), special, st.just(value))),
        )
        # In headers, only what a client can send: what schemathesis drew itself stays as drawn.
        return text.filter(lambda v: v == value or _sendable(v)) if header else text
    if isinstance(value, dict):
        return st.fixed_dictionaries(
            {k: _mutate(v, name=str(k), header=header) for k, v in value.items()}
        )
    if isinstance(value, list):
        return st.tuples(*(_mutate(v, name=name, header=header) for v in value)).map(list)
    return st.just(value)


@pytest.fixture
def redis_url() -> str:
    # Every database, one store: hostile text upsets databases (PostgreSQL refuses NUL), while the
    # API only reads quota figures from Redis; this keeps the run under a minute.
    return f"fakeredis://{uuid.uuid4().hex}"


@pytest.fixture
def api_schema(services: Services) -> Iterator[Any]:
    with services.sessions.begin() as session:
        session.add(ContentSource(user_id=1, channel_id=SYNCED, next_sync_at=utc_now()))
        session.flush()
        fingerprint = push.fingerprint(services.settings.secret)
        push.due_channels(session, now=utc_now(), limit=10, secret=fingerprint)  # asked for
    app = create_app(services=services, celery_app=Recorder())  # type: ignore[arg-type]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)

    @schema.hook
    def flatmap_path_parameters(_: Any, parameters: dict[str, Any]) -> Any:
        return _mutate(parameters)

    @schema.hook
    def flatmap_query(_: Any, query: dict[str, Any]) -> Any:
        return _mutate(query)

    @schema.hook
    def flatmap_body(_: Any, body: Any) -> Any:
        return _mutate(body)

    @schema.hook
    def flatmap_headers(_: Any, headers: dict[str, Any] | None) -> Any:
        return _mutate(headers, header=True)

    TALLY.clear()
    yield schema
    print(f"\nschemathesis on {services.settings.database_url.split(':')[0]}: {dict(TALLY)}")


schema = schemathesis.pytest.from_fixture("api_schema")

SETTINGS = hypothesis.settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)


@schema.parametrize()
@SETTINGS
def test_no_operation_answers_5xx(case: Any) -> None:
    TALLY["cases"] += 1
    TALLY[f"cases {case.operation.label}"] += 1
    headers = case.meta.components.get(ParameterLocation.HEADER)
    if headers is None or headers.mode is GenerationMode.POSITIVE:
        # A valid token, so the case reaches the handler; negative cases keep what they sent.
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKEN}"}
    case.call_and_validate(checks=[not_a_server_error])


def test_following_the_schemas_links_never_answers_5xx(api_schema: Any) -> None:
    """Accepted imports to their status, and pages of sources to the next, as a client would."""

    class Workflow(api_schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKEN}"}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            TALLY["stateful calls"] += 1
            TALLY[f"stateful {case.operation.label}"] += 1
            case.validate_response(response, checks=[not_a_server_error])

    Workflow.run(settings=hypothesis.settings(SETTINGS, max_examples=20, stateful_step_count=6))
