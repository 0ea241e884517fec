"""The HTTP API: imports, duplicates, isolation between users, bad input, backends down, metrics.

Most tests send to a recording stand-in for Celery; one imports through a real embedded worker and
reads the task metrics back. Schemathesis fuzzes every operation in ``test_api_fuzz.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy import create_engine, func, select

from reference import push, sources, tasks
from reference.api import MAX_BODY_BYTES, create_app
from reference.api.context import describe
from reference.api.schemas import MAX_CHECK_URLS
from reference.auth import token_for
from reference.clock import utc_now
from reference.metrics import Metrics, metered
from reference.models import ImportRequest, User
from reference.projects import NewProject, upsert_project
from reference.services import Services
from reference.settings import Settings
from reference.youtube.atom import topic_url
from tests.helpers import wait_for
from ytscale.fake.atom import render_notification
from ytscale.fake.catalogue import Catalogue
from ytscale.fake.youtube import FakeYouTube
from ytscale.instruments.querycount import count_queries
from ytscale.worker import embedded_worker

VIDEO = "dQw4w9WgXcQ"


@dataclass
class Recorder:
    """Stands in for the Celery app: records what would be sent."""

    sent: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    fail: bool = False

    def send_task(self, name: str, args: tuple[Any, ...]) -> None:
        if self.fail:
            raise BrokerError("[Errno 111] Connection refused")
        self.sent.append((name, tuple(args)))


def auth(services: Services, user_id: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(services.settings.secret, user_id)}"}


@pytest.fixture
def broker() -> Recorder:
    return Recorder()


@pytest.fixture
def client(services: Services, broker: Recorder) -> TestClient:
    return TestClient(create_app(services=services, celery_app=broker))  # type: ignore[arg-type]


def add_project(services: Services, user_id: int, video_id: str = VIDEO) -> int:
    with services.sessions.begin() as session:
        url = f"https://youtu.be/{video_id}"
        return upsert_project(session, user_id, NewProject.from_url(url)).project_id


def requests_recorded(services: Services) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(ImportRequest)) or 0)


# -- imports ----------------------------------------------------------------------------------


def test_a_new_video_is_recorded_queued_and_visible_to_its_owner(
    client: TestClient, services: Services, broker: Recorder
) -> None:
    answer = client.post(
        "/v1/imports/videos", json={"url": f"https://youtu.be/{VIDEO}"}, headers=auth(services, 1)
    )
    assert answer.status_code == 202, answer.text
    request_id = answer.json()["request_id"]
    assert answer.json() == {"request_id": request_id, "status": "pending", "kind": "video"}
    assert answer.headers["location"] == f"/v1/imports/{request_id}"
    assert broker.sent == [("ytscale.import_video", (request_id,))]
    status = client.get(f"/v1/imports/{request_id}", headers=auth(services, 1))
    assert status.status_code == 200
    assert status.json()["status"] == "pending" and status.json()["kind"] == "video"


def test_a_video_the_user_has_answers_with_its_project_at_once(
    client: TestClient, services: Services, broker: Recorder
) -> None:
    project_id = add_project(services, 1)
    # Another URL form of the same video is the same video.
    url = f"https://m.youtube.com/watch?v={VIDEO}&t=42"
    answer = client.post("/v1/imports/videos", json={"url": url}, headers=auth(services, 1))
    assert answer.status_code == 200
    assert answer.json() == {"status": "duplicate", "video_id": VIDEO, "project_id": project_id}
    assert broker.sent == [] and requests_recorded(services) == 0
    # Another user importing it is not a duplicate.
    other = client.post("/v1/imports/videos", json={"url": url}, headers=auth(services, 2))
    assert other.status_code == 202


def test_a_channel_import_is_queued(
    client: TestClient, services: Services, broker: Recorder
) -> None:
    answer = client.post(
        "/v1/imports/channels", json={"channel": "@chan42"}, headers=auth(services, 1)
    )
    assert answer.status_code == 202
    assert broker.sent == [("ytscale.import_channel", (answer.json()["request_id"],))]


def test_an_import_the_broker_cannot_take_ends_failed_and_answers_503(
    client: TestClient, services: Services, broker: Recorder
) -> None:
    broker.fail = True
    answer = client.post(
        "/v1/imports/videos", json={"url": f"https://youtu.be/{VIDEO}"}, headers=auth(services, 1)
    )
    assert answer.status_code == 503
    assert answer.json()["detail"].startswith("broker unavailable: OperationalError")
    with services.sessions() as session:
        request = session.scalars(select(ImportRequest)).one()
    assert request.status == "failed" and "enqueueFailed" in (request.reason or "")


# -- one user never sees another's data -------------------------------------------------------


def test_users_see_only_their_own_imports_projects_and_sources(
    client: TestClient, services: Services
) -> None:
    mine = client.post(
        "/v1/imports/videos", json={"url": f"https://youtu.be/{VIDEO}"}, headers=auth(services, 1)
    ).json()["request_id"]
    theirs = client.get(f"/v1/imports/{mine}", headers=auth(services, 2))
    missing = client.get(f"/v1/imports/{mine + 1000}", headers=auth(services, 2))
    assert theirs.status_code == missing.status_code == 404
    # The answer does not tell "someone else's" from "no such import".
    assert theirs.json()["detail"] == f"no import request {mine} for this user"

    add_project(services, 1)
    with services.sessions.begin() as session:
        sources.upsert_source(
            session, user_id=1, channel_id="UC" + "a" * 22, uploads_playlist_id=None,
            last_video_id=None, next_sync_at=utc_now(),
        )  # fmt: skip
    checked = client.post(
        "/v1/videos/check", json={"urls": [f"https://youtu.be/{VIDEO}"]}, headers=auth(services, 2)
    )
    assert checked.json()["results"][0]["project_id"] is None
    assert client.get("/v1/sources", headers=auth(services, 2)).json()["items"] == []
    assert len(client.get("/v1/sources", headers=auth(services, 1)).json()["items"]) == 1


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        "Bearer 1.00000000000000000000000000000000",
    ],
)
def test_requests_without_a_valid_token_get_401(
    client: TestClient, services: Services, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    answer = client.get("/v1/quota", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"


def test_a_signed_token_for_a_user_who_does_not_exist_gets_401(
    client: TestClient, services: Services
) -> None:
    assert client.get("/v1/quota", headers=auth(services, 99)).status_code == 401
    with services.sessions.begin() as session:
        session.add(User(id=99, name="late"))
    assert client.get("/v1/quota", headers=auth(services, 99)).status_code == 200


# -- the duplicate check ----------------------------------------------------------------------


def test_the_duplicate_check_answers_each_url_with_one_query_whatever_the_library_size(
    client: TestClient, services: Services
) -> None:
    with services.sessions.begin() as session:
        for n in range(600):  # more than one lookup batch: the check must not read them all
            upsert_project(session, 1, NewProject(video_id=f"v{n:010d}", external_url="x"))
    project_id = add_project(services, 1)
    urls = [f"https://www.youtube.com/shorts/{VIDEO}", "https://youtu.be/AAAAAAAAAAA", "ftp://x"]
    headers = auth(services, 1)
    client.get("/v1/quota", headers=headers)  # the user is known from now on
    with count_queries(services.engine) as queries:
        answer = client.post("/v1/videos/check", json={"urls": urls}, headers=headers)
    assert answer.status_code == 200
    assert answer.json()["results"] == [
        {"url": urls[0], "video_id": VIDEO, "project_id": project_id, "error": None},
        {"url": urls[1], "video_id": "AAAAAAAAAAA", "project_id": None, "error": None},
        {
            "url": urls[2],
            "video_id": None,
            "project_id": None,
            "error": "not a YouTube video URL: 'ftp://x' (scheme 'ftp' is not http(s))",
        },
    ]
    assert queries.count == 1, queries.statements
    assert "IN" in queries.statements[0] and "projects" in queries.statements[0]


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "detail"),
    [
        (
            "post",
            "/v1/imports/videos",
            {"url": "https://vimeo.com/1"},
            422,
            "'https://vimeo.com/1'",
        ),
        ("post", "/v1/imports/videos", {"url": "https://youtu.be/\x00abc"}, 422, "U+0000"),
        ("post", "/v1/imports/videos", {"url": ""}, 422, "body.url"),
        ("post", "/v1/imports/videos", {"url": "y" * 2049}, 422, "body.url"),
        ("post", "/v1/imports/videos", {}, 422, "body.url: Field required"),
        ("post", "/v1/imports/videos", {"url": VIDEO, "extra": 1}, 422, "body.extra"),
        ("post", "/v1/imports/channels", {"channel": "not a channel"}, 422, "'not a channel'"),
        ("post", "/v1/imports/channels", {"channel": "https://[youtube.com/@a"}, 422, "IPv6"),
        ("post", "/v1/videos/check", {"urls": []}, 422, "body.urls"),
        ("post", "/v1/videos/check", {"urls": [VIDEO] * (MAX_CHECK_URLS + 1)}, 422, "at most 200"),
        ("post", "/v1/videos/check", {"urls": [VIDEO, 7]}, 422, "body.urls.1"),
        ("get", "/v1/imports/0", None, 422, "path.request_id"),
        ("get", f"/v1/imports/{2**63}", None, 422, "path.request_id"),
        ("get", "/v1/imports/abc", None, 422, "path.request_id"),
        ("get", "/v1/sources?limit=0", None, 422, "query.limit"),
        ("get", "/v1/sources?after=-1", None, 422, "query.after"),
    ],
)
def test_bad_input_gets_a_4xx_that_names_the_problem(
    client: TestClient,
    services: Services,
    method: str,
    path: str,
    body: Any,
    status: int,
    detail: str,
) -> None:
    kwargs: dict[str, Any] = {"headers": auth(services, 1)}
    if body is not None:
        kwargs["json"] = body
    answer = getattr(client, method)(path, **kwargs)
    assert answer.status_code == status, answer.text
    assert detail in answer.json()["detail"]
    assert requests_recorded(services) == 0


CHANNEL = "UC" + "A" * 22


def test_a_hub_verification_naming_an_unparseable_topic_is_refused(client: TestClient) -> None:
    params = {"hub.mode": "subscribe", "hub.topic": "http://[...", "hub.challenge": "c"}
    assert client.get(f"/websub/{CHANNEL}", params=params).status_code == 404


def test_a_notification_with_a_non_ascii_signature_is_forged(client: TestClient) -> None:
    # Latin-1 on the wire, as ASGI servers decode header bytes.
    headers = {"X-Hub-Signature": "sha1=\u00e9t\u00e9".encode("latin-1")}
    answer = client.post(f"/websub/{CHANNEL}", content=b"<feed/>", headers=headers)
    assert (answer.status_code, answer.json()["outcome"]) == (200, "forged")


def test_a_body_over_the_limit_gets_413_declared_or_chunked(
    client: TestClient, services: Services
) -> None:
    big = b'{"urls": ["' + b"x" * MAX_BODY_BYTES + b'"]}'
    headers = {**auth(services, 1), "content-type": "application/json"}
    declared = client.post("/v1/videos/check", content=big, headers=headers)
    chunked = client.post(
        "/v1/videos/check", content=iter([big[:1000], big[1000:]]), headers=headers
    )
    for answer in (declared, chunked):
        assert answer.status_code == 413
        assert f"limit of {MAX_BODY_BYTES} bytes" in answer.json()["detail"]
    # A chunked body under the limit reaches the endpoint whole.
    small = iter([b'{"urls": ["https://youtu.be/', VIDEO.encode(), b'"]}'])
    assert client.post("/v1/videos/check", content=small, headers=headers).status_code == 200


# -- quota, sources, health, metrics ----------------------------------------------------------


def test_quota_shows_the_project_budget_and_this_users_share(
    client: TestClient, services: Services
) -> None:
    services.ledger.reserve(3, user_id=1)
    services.ledger.reserve(2, user_id=2)
    mine = client.get("/v1/quota", headers=auth(services, 1)).json()
    budget = services.settings.daily_quota
    assert mine["project_used"] == 5 and mine["user_used"] == 3
    assert mine["user_budget"] is None and mine["remaining"] == budget - 5
    assert mine["resets_at"].endswith(("-08:00", "-07:00"))  # midnight Pacific Time


def test_sources_come_a_page_at_a_time(client: TestClient, services: Services) -> None:
    with services.sessions.begin() as session:
        ids = [
            sources.upsert_source(
                session, user_id=1, channel_id=f"UC{n:022d}", uploads_playlist_id=None,
                last_video_id=None, next_sync_at=utc_now(),
            )
            for n in range(3)
        ]  # fmt: skip
    headers = auth(services, 1)
    first = client.get("/v1/sources?limit=2", headers=headers).json()
    assert [s["id"] for s in first["items"]] == ids[:2] and first["next_after"] == ids[1]
    rest = client.get(f"/v1/sources?limit=2&after={first['next_after']}", headers=headers).json()
    assert [s["id"] for s in rest["items"]] == ids[2:] and rest["next_after"] is None


def test_health_is_ok_with_every_backend_up(client: TestClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_backends_down_answer_503_naming_the_backend(tmp_path: Any) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}",
        redis_url="redis://127.0.0.1:1/0",  # nothing listens on port 1
    )
    services = Services.from_settings(settings)
    # make_engine would create the folder; an engine on a path that cannot exist stays down.
    services = replace(services, engine=create_engine("sqlite:////proc/ytscale/none.db"))
    services.sessions.configure(bind=services.engine)
    try:
        client = TestClient(create_app(services=services, celery_app=Recorder()))  # type: ignore[arg-type]
        health = client.get("/healthz")
        assert health.status_code == 503
        checks = health.json()["checks"]
        assert checks["database"].startswith("unavailable: OperationalError")
        assert checks["redis"].startswith("unavailable: ConnectionError")
        answer = client.get("/v1/sources", headers=auth(services, 1))
        assert answer.status_code == 503
        assert answer.json()["detail"].startswith("database unavailable: OperationalError")
        assert "Traceback" not in answer.text
        # A notification we cannot store is not acknowledged: the hub delivers it again later.
        catalogue = Catalogue(seed=1)
        spec = catalogue.channel(catalogue.find_channel(1))
        channel_id = spec.id
        body = render_notification(
            [(catalogue.video(spec, 0), spec)],
            updated=utc_now(),
            hub="hub",
            topic=topic_url(spec.id),
        )
        signature = push.sign(push.secret_for(settings.secret, channel_id), body)
        notified = client.post(
            f"/websub/{channel_id}", content=body, headers={"X-Hub-Signature": signature}
        )
        assert notified.status_code == 503
    finally:
        services.close()


def test_metrics_label_requests_by_route_template(client: TestClient, services: Services) -> None:
    client.get("/v1/imports/123", headers=auth(services, 1))
    client.get("/no/such/path")
    text = client.get("/metrics").text
    assert (
        'ytscale_http_request_duration_seconds_count{method="GET",'
        'route="/v1/imports/{request_id}",status="404"} 1.0' in text
    )
    assert 'route="<unmatched>",status="404"' in text


@pytest.fixture
def worker_app(
    services: Services, fake: FakeYouTube, request: pytest.FixtureRequest
) -> Iterator[tuple[TestClient, Services]]:
    """The API on metered services, with a real Celery worker in this process, as serve runs it."""
    if request.node.callspec.id in ("fakeredis-postgresql", "redis-sqlite"):
        pytest.skip("a worker takes seconds to stop: all-embedded and all-real backends suffice")
    transport = fake.transport()
    served = metered(services, transport)
    celery_app = tasks.create_app(served.settings, youtube_transport=transport, services=served)
    metrics = Metrics()
    metrics.watch(celery_app)
    app = create_app(services=served, celery_app=celery_app, metrics=metrics)
    with embedded_worker(celery_app, concurrency=2):
        yield TestClient(app), served
    served.youtube.close()


def test_an_import_through_the_worker_reports_its_duration_and_quota(
    worker_app: tuple[TestClient, Services], fake: FakeYouTube
) -> None:
    client, services = worker_app
    video = fake.catalogue.video_id(3, 0)
    headers = auth(services, 1)
    request_id = client.post(
        "/v1/imports/videos", json={"url": f"https://youtu.be/{video}"}, headers=headers
    ).json()["request_id"]

    def imported() -> bool:
        """the import to end"""
        status = client.get(f"/v1/imports/{request_id}", headers=headers).json()["status"]
        return status != "pending"

    wait_for(imported, timeout=30)
    assert client.get(f"/v1/imports/{request_id}", headers=headers).json()["status"] == "imported"
    again = client.post("/v1/imports/videos", json={"url": video}, headers=headers)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    text = client.get("/metrics").text
    # The task's signal fires after its result is stored: wait for the metric, not the status.
    wait_for(lambda: "ytscale_task_quota_units_count" in client.get("/metrics").text, timeout=10)
    text = client.get("/metrics").text
    assert (
        'ytscale_task_duration_seconds_count{state="SUCCESS",task="ytscale.import_video"} 1.0'
        in text
    )
    # videos.list costs 1 unit: the per-task figure the report's P1 item 3 asks for.
    assert 'ytscale_task_quota_units_sum{task="ytscale.import_video"} 1.0' in text


def test_a_backend_error_quoting_its_url_shows_no_password() -> None:
    error = ConnectionError("cannot reach redis://:hunter2@cache:6379/0 (timed out)")
    assert describe(error) == "ConnectionError: cannot reach redis://:***@cache:6379/0 (timed out)"
