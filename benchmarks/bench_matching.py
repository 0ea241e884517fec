"""Claim 3, tag matching: "2 queries instead of 10-20 per video", "1000 videos/day: 10,000 → 100".

One video's ten tags (four tool spellings, two categories, four that match nothing) matched against
a vocabulary of 10, 100 and 1,000 tools by each :data:`ytscale.variants.matching.VARIANTS` entry:

- ``before``: a tools and a categories query per tag;
- ``after``: the report's batch, reloading every active tool and category for every video;
- ``ours``: the process-wide alias index, loaded once.

``extra_info`` holds the statements one video costs, warm (``queries_per_video``) and from a fresh
matcher (``queries_cold``), counted by :func:`ytscale.instruments.querycount.count_queries`.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.orm import Session

from benchmarks.slow import VARIANTS, effective_variant, injected
from reference.matching import Match, TagMatcher
from reference.models import Base, Category, Tool, ToolAlias
from reference.vocabulary import build_vocabulary
from ytscale.instruments.querycount import count_queries
from ytscale.variants.matching import VARIANTS as MATCHERS

TOOLS = [10, 100, 1000]
CATEGORIES = 40
NOISE = ("tutorial", "How To", "2024", "review")
TABLES = [Base.metadata.tables[name] for name in ("tools", "tool_aliases", "categories")]


def build(conn: Connection, tools: int) -> None:
    with Session(bind=conn) as session:
        build_vocabulary(session, n_tools=tools, n_categories=CATEGORIES, seed=7)
        session.flush()


def video_tags(conn: Connection) -> list[str]:
    """Tags naming four tools (by name or alias) and two categories, spread over the vocabulary."""
    tools = conn.execute(select(Tool.name).order_by(Tool.id)).scalars().all()
    aliases = conn.execute(select(ToolAlias.alias).order_by(ToolAlias.alias)).scalars().all()
    categories = conn.execute(select(Category.name).order_by(Category.id)).scalars().all()
    return [
        tools[0],
        tools[len(tools) // 2],
        aliases[len(aliases) // 3],
        aliases[-1],
        categories[0],
        categories[len(categories) // 2],
        *NOISE,
    ]


class StatementAdded:
    """The injected regression: a matcher that sends one more statement per video."""

    def __init__(self, matcher: TagMatcher, engine: Engine) -> None:
        self.matcher, self.engine = matcher, engine

    def match(self, tags: list[str]) -> Match:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return self.matcher.match(tags)


@pytest.mark.quick
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("tools", TOOLS)
def test_match_video_tags(
    benchmark: Any, case: Any, datasets: Any, database: str, tools: int, variant: str
) -> None:
    engine = datasets.engine(database, "matching", TABLES, build, {"tools": tools})
    case("matching", variant, backend=database, tools=tools)
    with engine.connect() as conn:
        tags = video_tags(conn)
    make = MATCHERS[effective_variant("matching", variant)]
    matcher: TagMatcher | StatementAdded = make(engine)
    if variant == "ours" and injected("statement"):
        matcher = StatementAdded(matcher, engine)
    with count_queries(engine) as cold:
        expected = matcher.match(tags)
    with count_queries(engine) as warm:
        matcher.match(tags)
    benchmark.extra_info.update(queries_cold=cold.count, queries_per_video=warm.count)
    found = benchmark(matcher.match, tags)
    assert found == expected
    assert (len(found.tools), len(found.categories)) == (4, 2), found
