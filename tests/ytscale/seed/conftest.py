"""The seed tests' fixture: a database holding the small population, per backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from reference.db import make_engine
from tests.ytscale.seed.helpers import SMALL
from ytscale.seed import seed


@pytest.fixture
def seeded(url: str) -> Iterator[Engine]:
    seed(url, SMALL)
    engine = make_engine(url)
    yield engine
    engine.dispose()
