"""The strategy run: real pipeline on a simulated clock, figures that can be held to the model."""

from __future__ import annotations

import pytest

from reference.settings import Settings
from ytscale.fake.catalogue import Catalogue
from ytscale.report.freshness import (
    START,
    FreshnessConfig,
    busy_channels,
    measure,
    model_comparison,
)


@pytest.fixture(scope="module")
def result() -> dict[str, object]:
    config = FreshnessConfig(sources=12, days=1.0, step_s=120.0, push_loss=0.0)
    measured = measure(Settings(), config, progress=lambda _: None)
    measured["model"] = model_comparison(measured, sizes=(1_000, 100_000))
    return measured


def test_busy_channels_upload_often_enough() -> None:
    catalogue = Catalogue(seed=1)
    found = busy_channels(catalogue, 5, min_uploads_per_day=2.0)
    assert len(set(found)) == 5
    for index in found:
        spacing = catalogue.channel(index).spacing_s
        assert spacing is not None and spacing <= 86_400 / 2.0
        assert catalogue.video_count(index, START) > 0


def test_quota_free_strategies_import_every_upload_but_the_last_minutes(result: dict) -> None:
    runs = result["strategies"]
    assert runs["feed_polling"]["uploads"] == runs["push"]["uploads"] > 0
    for name in ("feed_polling", "push"):
        r = runs[name]
        # Only what was uploaded too near the end (feed: within its hour) may still be missing.
        assert r["missing_age_s"]["n"] == 0 or r["missing_age_s"]["max"] < 3_600 + 300 + 120
        assert set(r["charged_calls"]) <= {"videos.list", "playlistItems.list"}
        assert r["units"] <= r["imported"], "never more than a unit per upload"
    push, feed = runs["push"]["freshness_s"], runs["feed_polling"]["freshness_s"]
    assert push["p95"] < feed["p50"], "push beats reading the feed hourly"
    assert runs["push"]["hub"]["notifications"]["sent"] >= runs["push"]["imported"]


def test_api_polling_runs_on_its_sources_share_and_runs_out(result: dict) -> None:
    config, api = result["config"], result["strategies"]["api_polling"]
    assert config["daily_quota"]["api_polling"] == 2  # ceil(10,000 × 12 / 100,000)
    assert api["units"] <= 2 * config["days"]
    assert api["missing"] > 0 and api["failed_syncs"] > 0


def test_the_model_is_given_the_runs_parameters_and_the_full_population(result: dict) -> None:
    model = result["model"]
    assert [f["strategy"] for f in model["run"]] == ["api_polling", "feed_polling", "push"]
    full = {f["strategy"]: f for f in model["full"]}
    assert not full["api_polling"]["within_budget"] and full["push"]["within_budget"]
    assert set(model["series"]["units"]) == set(full)
    # On the run's own parameters the model predicts the measured medians within a step or two.
    run = {f["strategy"]: f for f in model["run"]}
    for name in ("feed_polling", "push"):
        measured = result["strategies"][name]["freshness_s"]["p50"]
        assert abs(measured - run[name]["freshness_p50_s"]) <= 0.5 * run[name]["freshness_p50_s"]
