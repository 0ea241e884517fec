"""Profiles: each action fully described, for our API and one of another shape; absolute paths and
half-described actions refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loadtests.population import ACTIONS
from loadtests.profile import DEFAULT_PROFILE, Profile, ProfileError, resolve

STANDIN = DEFAULT_PROFILE.parent / "standin.toml"


def test_the_local_profile_is_the_reference_api() -> None:
    profile = Profile.load(DEFAULT_PROFILE)
    assert set(profile.actions) == set(ACTIONS)
    video = profile.actions["import_video"]
    assert (video.method, video.path) == ("POST", "/v1/imports/videos")
    assert json.loads(video.body_for({"url": "https://youtu.be/x"}) or b"") == {
        "url": "https://youtu.be/x"
    }
    assert [video.outcome(s) for s in (202, 200, 500)] == ["accepted", "duplicate", None]
    assert video.read_ids({"request_id": 7}) == {"request_id": "7"}
    assert profile.actions["import_status"].path_for({"request_id": "7"}) == "/v1/imports/7"
    assert profile.headers("t0k") == {"Authorization": "Bearer t0k"}


def test_a_profile_of_another_shape_fills_nested_bodies_and_reads_nested_ids() -> None:
    profile = Profile.load(STANDIN)
    video = profile.actions["import_video"]
    assert json.loads(video.body_for({"url": "u"}) or b"") == {
        "video": {"link": "u"},
        "options": {"notify": False},
    }
    assert video.outcome(409) == "duplicate" and video.outcome(201) == "accepted"
    assert video.read_ids({"job": {"id": "j9"}}) == {"job_id": "j9"}
    with pytest.raises(KeyError, match="/job/id"):
        video.read_ids({"request_id": 1})
    check = profile.actions["check_videos"]
    assert json.loads(check.body_for({"urls": ["a", "b"]}) or b"") == {"links": ["a", "b"]}
    assert profile.actions["import_status"].path_for({"job_id": "j9"}) == "/api/v2/jobs/j9"
    assert profile.headers("key-3") == {"X-Load-Test": "ytscale", "X-Api-Key": "key-3"}


def load(tmp_path: Path, edit: Any) -> Profile:
    path = tmp_path / "edited.toml"
    path.write_text(edit(DEFAULT_PROFILE.read_text()))
    return Profile.load(path)


@pytest.mark.parametrize(
    "path", ["https://other.example/v1/quota", "//other.example/v1/quota", "v1/quota", ""]
)
def test_a_path_that_could_leave_the_host_is_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(ProfileError, match="actions.quota.path"):
        load(tmp_path, lambda t: t.replace('path = "/v1/quota"', f'path = "{path}"'))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("[actions.quota]", "[actions.quotas]"), "lacks quota"),
        (lambda t: t.replace('{ url = "{url}" }', '{ url = "{channel}" }'), "uses channel"),
        (lambda t: t.replace("/v1/imports/{request_id}", "/v1/imports/{job}"), "uses job"),
        (lambda t: t.replace("accepted = [202]\nduplicate = [200]", ""), "names no status"),
        (lambda t: t.replace("duplicate = [200]", "duplicate = [202]"), "both accepted"),
        (lambda t: t.replace('"/request_id"', '"request_id"'), "JSON pointer"),
    ],
)
def test_a_half_described_action_says_what_is_wrong(
    tmp_path: Path, edit: Any, message: str
) -> None:
    with pytest.raises(ProfileError, match=message):
        load(tmp_path, edit)


def test_json_pointers_follow_rfc_6901() -> None:
    document = {"a/b": {"m~n": [10, {"id": "x"}]}, "": 1}
    assert resolve(document, "/a~1b/m~0n/1/id") == "x"
    assert resolve(document, "/a~1b/m~0n/0") == 10
    assert resolve(document, "") is document
    for missing in ("/a~1b/m~0n/2", "/nope", "/a~1b/m~0n/x"):
        with pytest.raises(KeyError):
            resolve(document, missing)
