"""The fake's tests' fixtures: a fake whose simulated clock stands still, a client onto it."""

from collections.abc import Iterator

import httpx
import pytest

from tests.ytscale.fake.helpers import client_of, make_fake
from ytscale.fake.youtube import FakeYouTube


@pytest.fixture
def fake() -> FakeYouTube:
    return make_fake()


@pytest.fixture
def client(fake: FakeYouTube) -> Iterator[httpx.Client]:
    with client_of(fake) as c:
        yield c
