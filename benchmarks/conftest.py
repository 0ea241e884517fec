"""The benchmarks' backends, datasets, case labels, slow-down switch and machine info.

Every benchmark times one variant of one claim (the report's ``before``, its ``after`` or ``ours``)
and labels itself with :func:`case`, so ``benchmarks.gate`` can pair the variants measured in the
same run. ``-m quick`` selects the subset CI runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import text

from benchmarks.datasets import Datasets
from benchmarks.slow import SLOW_ENV, effective_variant
from reference import kv
from reference.db import make_engine
from tests.backends import DATABASES, POSTGRES_ENV, REDIS_ENV
from ytscale.report.manifest import revision, versions


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "quick: the benchmark subset CI runs (minutes, not more)")


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Module | None:
    # Benchmarks are named bench_*.py so the test run never collects them; paths given on the
    # command line are collected by pytest itself.
    wanted = file_path.name.startswith("bench_") and file_path.suffix == ".py"
    if wanted and not parent.session.isinitpath(file_path):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


@pytest.fixture
def case(benchmark: Any) -> Callable[..., None]:
    """Label the benchmark: ``case(claim, variant, backend=..., n=...)``.

    The group (one table per claim and parameters) puts the three variants side by side; the
    labels in ``extra_info`` are what the gate pairs them by.
    """

    def label(claim: str, variant: str, **params: Any) -> None:
        described = " ".join(f"{key}={value}" for key, value in params.items())
        benchmark.group = f"{claim} {described}".strip()
        benchmark.extra_info.update(claim=claim, variant=variant, case=params)
        if effective_variant(claim, variant) != variant:
            benchmark.extra_info["slowed"] = True

    return label


@pytest.fixture(scope="session")
def datasets() -> Iterator[Datasets]:
    store = Datasets(os.environ.get(POSTGRES_ENV) or None)
    yield store
    store.close()


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest) -> str:
    """A database backend name; the PostgreSQL param skips without its URL."""
    if request.param == "postgresql" and not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"{POSTGRES_ENV} is not set: no real server to run against")
    name: str = request.param
    return name


def pytest_benchmark_update_machine_info(
    config: pytest.Config, machine_info: dict[str, Any]
) -> None:
    """Record what the figures were measured with: commit, versions, servers, load."""
    machine_info["git"] = revision()
    machine_info["cpu_count"] = os.cpu_count()
    machine_info["load_average"] = os.getloadavg()
    machine_info["versions"] = versions()
    machine_info["servers"] = _servers()
    machine_info["slowed"] = os.environ.get(SLOW_ENV, "")


def _servers() -> dict[str, str | None]:
    """Server versions of the real backends this run may use (None: not configured)."""
    servers: dict[str, str | None] = {"postgresql": None, "redis": None}
    if url := os.environ.get(POSTGRES_ENV):
        engine = make_engine(url)
        with engine.connect() as conn:
            servers["postgresql"] = conn.execute(text("SHOW server_version")).scalar_one()
        engine.dispose()
    if url := os.environ.get(REDIS_ENV):
        info = cast("dict[str, Any]", kv.connect(url).info("server"))
        servers["redis"] = str(info["redis_version"])
    return servers
