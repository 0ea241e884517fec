"""The report tests' shared run of the main job: made once per module that asks for it."""

from __future__ import annotations

import pytest

from tests.ytscale.report.quickrun import QuickRun, run_quick


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> QuickRun:
    return run_quick(tmp_path_factory.mktemp("report"))
