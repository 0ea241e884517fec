"""The report's pages in a real headless browser: figures drawn, links and anchors that resolve,
no console error, nothing fetched off the machine.

Debian's chromium and chromium-driver (``.ci/run`` installs them); without them this skips.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ytscale.report.quickrun import QuickRun

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
#: Pages whose notebooks draw plots (matplotlib PNGs inlined in the page).
PLOTTED = ("capacity", "strategies", "benchmarks")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM and DRIVER), reason="no chromium/chromedriver: apt-get install chromium "
        "chromium-driver (.ci/run does)"
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync",
    ):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER or ""), options=options)
    yield driver
    driver.quit()


def visit(browser: Any, page: Path) -> list[str]:
    """Open ``page``; the console's errors, and what it tried to fetch from a network host."""
    browser.get(page.as_uri())
    problems = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    return problems + [f"fetched {url}" for url in fetched if not url.startswith("file:")]


def test_every_page_renders_its_figures_without_errors(browser: Any, quick_run: QuickRun) -> None:
    assert quick_run.code == 0, quick_run.err
    pages = sorted((quick_run.path / "html").glob("*.html"))
    assert {p.stem for p in pages} >= {"index", *PLOTTED}
    for page in pages:
        assert visit(browser, page) == [], page.name
        images = browser.execute_script(
            "return Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
        )
        assert all(images), f"{page.name}: an image did not load"
        if page.stem in PLOTTED:
            assert images, f"{page.name} draws no figure"


def test_every_link_of_the_index_reaches_a_page_and_its_section(
    browser: Any, quick_run: QuickRun
) -> None:
    index = quick_run.path / "html" / "index.html"
    browser.get(index.as_uri())
    links = browser.execute_script("return Array.from(document.links).map(a => a.href)")
    assert len(links) > 17  # a link per claim, the pages and the raw files
    for link in links:
        target, _, section = link.partition("#")
        assert target.startswith("file:"), link
        path = Path(target.removeprefix("file://"))
        assert path.exists(), link
        if section:
            browser.get(link)
            found = browser.execute_script(
                "return document.getElementById(arguments[0]) !== null", section
            )
            assert found, f"{link}: no such section"
