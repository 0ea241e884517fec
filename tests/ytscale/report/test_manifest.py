"""The run manifest's commit and versions: one capture, shared with the benchmarks' machine info."""

from __future__ import annotations

import re
import sqlite3
from importlib import metadata

import pytest

from reference.settings import Settings
from ytscale.report import manifest as manifest_module
from ytscale.report.manifest import manifest, revision, versions


def test_revision_is_the_checked_out_commit() -> None:
    commit = revision()
    assert re.fullmatch(r"[0-9a-f]{40}", commit["sha"] or "")
    assert isinstance(commit["dirty"], bool)


def test_without_git_the_revision_says_it_cannot_tell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest_module, "git", lambda *args: None)
    assert revision() == {"sha": None, "dirty": None}
    made = manifest(Settings(), [], [])
    assert (made["git_sha"], made["git_dirty"]) == (None, None)


def test_versions_name_the_engine_and_the_packages() -> None:
    found = versions()
    assert found["sqlite"] == sqlite3.sqlite_version
    assert found["sqlalchemy"] == metadata.version("sqlalchemy")
    assert set(manifest_module.PACKAGES) <= set(found)
