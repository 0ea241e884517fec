"""C2's duplicates measurement on SQLite (threads) and PostgreSQL (processes): exact counts where
the race's window is held, and the URL forms of one video."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

from reference.db import make_engine
from reference.videos import canonical_video_id
from ytscale.report.claims import audit
from ytscale.report.duplicates import URL_FORMS, VIDEO_ID, concurrent, measure, url_forms
from ytscale.report.measure import lookup_plans

WORKERS = 3


def test_url_forms_name_one_video_in_as_many_strings() -> None:
    assert {canonical_video_id(form) for form in URL_FORMS} == {VIDEO_ID}
    assert len(set(URL_FORMS)) == len(URL_FORMS) == 6


def test_a_held_race_makes_a_project_per_racer_on_the_reports_schema_and_one_on_ours(
    db_url: str,
) -> None:
    found = concurrent(db_url, WORKERS)
    no_errors = {"integrity": 0, "locked": 0, "multiple": 0}
    report, ours = found["held"]["report"], found["held"]["ours"]
    assert (report["created"], report["found"], report["projects"]) == (WORKERS, 0, WORKERS)
    assert report["errors"] == no_errors
    assert report["next_import"].startswith(f"MultipleObjectsReturned: {WORKERS} projects")
    assert (ours["created"], ours["found"], ours["projects"]) == (1, WORKERS - 1, 1)
    assert ours["errors"] == no_errors
    assert ours["next_import"] == "ok"
    # Free-running, the report's racers interleave by luck; every project is one's insert, and a
    # racer that looks after two inserts gets Django's MultipleObjectsReturned.
    free = found["free"]["report"]
    late = free["errors"]["multiple"]
    assert 1 <= free["projects"] == free["created"] == WORKERS - free["found"] - late
    assert found["free"]["ours"]["projects"] == 1
    assert found["runner"] == ("threads" if db_url.startswith("sqlite") else "processes (spawn)")


def test_each_url_form_is_a_project_of_its_own_on_the_reports_schema(db_url: str) -> None:
    found = url_forms(db_url)
    assert found["report"] == {"created": 6, "projects": 6}
    assert found["ours"] == {"created": 1, "projects": 1}


def _schemas(engine: Engine) -> set[str]:
    if engine.dialect.name != "postgresql":
        return set()
    with engine.connect() as conn:
        return set(conn.scalars(text("SELECT nspname FROM pg_namespace")))


def test_the_measurement_leaves_the_database_it_is_given_alone(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        before = _schemas(engine)
        url_forms(db_url)
        assert inspect(engine).get_table_names() == []
        # Another run may come and go meanwhile, but none of this run's scratch schemas stays.
        assert not {s for s in _schemas(engine) - before if s.startswith("ytscale_dup_")}
    finally:
        engine.dispose()


def test_the_measured_duplicates_fail_c2_although_the_lookup_uses_the_index(db_url: str) -> None:
    found = measure(db_url, threads=WORKERS, processes=WORKERS)
    (c2,) = [v for v in audit({"plans": lookup_plans(), "duplicates": found}) if v.id == "C2"]
    assert c2.verdict == "fails"
    assert "the lookup searches ix_projects_report_after_user_id_external_url" in c2.measured
    assert f": {WORKERS} projects with the SELECT-to-INSERT window held open" in c2.measured
    assert "6 URL forms of one video: 6 projects (ours: 1 and 1)" in c2.measured
