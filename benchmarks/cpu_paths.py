"""The CPU-bound paths whose instructions ``bench_instructions.py`` counts, one factory each.

A factory builds its inputs and returns the operation, a callable of no arguments;
:func:`ytscale.instruments.instructions.instructions_per_call` calls it under callgrind. Each
imports
what its path needs inside, so a child interpreter under valgrind (some 50 times slower) imports
nothing else. :data:`PATHS` names them by path and variant: the report's variant beside ours where
the report has one.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from benchmarks.slow import injected

Operation = Callable[[], object]

URL_FORMS = (
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ&t=42",
    "https://youtu.be/dQw4w9WgXcQ?t=1",
    "https://www.youtube.com/shorts/dQw4w9WgXcQ",
    "https://www.youtube.com/embed/dQw4w9WgXcQ",
    "youtube.com/live/dQw4w9WgXcQ",
    "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=RD",
    "http://WWW.YOUTUBE.COM/v/dQw4w9WgXcQ",
)
#: One video's tags as bench_matching.py has them: tools, an alias, categories and noise.
TAGS = ("Tool 3", "tool-50", "T50 Pro", "ＴＯＯＬ_99", "Category 1", "category 20", "tutorial",
        "How To", "2024", "review")  # fmt: skip
TOOLS, CATEGORIES = 100, 40
SOURCES = 100
NOW = datetime(2025, 11, 29, 12, 0, tzinfo=UTC)


def _vocabulary_rows() -> list[tuple[str, int, str]]:
    """``(kind, id, spelling)`` rows as ``reference.matching``'s selects return them."""
    tools = [("tool", i, f"Tool {i}") for i in range(TOOLS)]
    aliases = [("tool", i, f"T{i} Pro") for i in range(TOOLS)]
    categories = [("category", i, f"Category {i}") for i in range(CATEGORIES)]
    return [*tools, *aliases, *categories]


def canonical_urls() -> Operation:
    """Canonicalise eight URL forms of one video (the import endpoint's first step)."""
    from reference.videos import canonical_video_id

    return _maybe_injected(lambda: [canonical_video_id(url) for url in URL_FORMS])


def match_cached() -> Operation:
    """Ours: one video's tags normalised and looked up in the warm alias index."""
    from reference.matching import AliasIndex, normalise_tags

    index = AliasIndex.from_rows(_vocabulary_rows())
    return _maybe_injected(lambda: index.lookup(normalise_tags(TAGS)))


def match_rebuilt() -> Operation:
    """The report's "after", its Python side: the index rebuilt from every row for every video."""
    from reference.matching import AliasIndex, normalise_tags

    rows = _vocabulary_rows()
    return _maybe_injected(lambda: AliasIndex.from_rows(rows).lookup(normalise_tags(TAGS)))


def parse_feed() -> Operation:
    """Parse a channel's Atom feed of 15 entries, as a feed-polling sync reads it."""
    from reference.youtube.atom import parse_feed
    from ytscale.fake.atom import render_feed
    from ytscale.fake.catalogue import Catalogue

    catalogue = Catalogue(seed=1)
    index = catalogue.find_channel(min_videos=15)
    _, videos = catalogue.uploads(index, 0, 15)
    body = render_feed(catalogue.channel(index), videos)
    return _maybe_injected(lambda: parse_feed(body))


def _stagger(name: str) -> Operation:
    from reference.models import ContentSource
    from ytscale.variants.stagger import STAGGERS

    stagger = STAGGERS[name]
    due = [
        ContentSource(id=i, next_sync_at=NOW + timedelta(seconds=i % 120 - 60))
        for i in range(SOURCES)
    ]
    return _maybe_injected(lambda: stagger(due, NOW, 60, random.Random(0)))


def stagger_ours() -> Operation:
    """Ours: schedule_due's Python side, 100 claimed sources each counted down to when it is due."""
    return _stagger("ours")


def stagger_report() -> Operation:
    """The report's stagger: a uniform random countdown for each of 100 sources."""
    return _stagger("report")


def simulation() -> Operation:
    """Four 15-minute windows of the capacity simulation, 500 sources on 4 workers, seed 0."""
    from ytscale.capacity.params import CapacityParams
    from ytscale.capacity.simulation import simulate

    params = CapacityParams(sources=500, cap_per_window=500, workers=4)
    return _maybe_injected(lambda: simulate(params, windows=4, seed=0))


def _maybe_injected(op: Operation) -> Operation:
    # The gate's own tests add instructions by running the operation twice (benchmarks/slow.py).
    if not injected("instructions"):
        return op
    return lambda: (op(), op())


#: ``{path: {variant: "module:factory"}}`` and how many calls callgrind counts for each.
PATHS: dict[str, dict[str, str]] = {
    "canonical_url": {"ours": "canonical_urls"},
    "alias_match": {"ours": "match_cached", "after": "match_rebuilt"},
    "atom_parse": {"ours": "parse_feed"},
    "stagger": {"ours": "stagger_ours", "before": "stagger_report"},
    "simulation": {"ours": "simulation"},
}
CALLS = {"canonical_url": 20, "alias_match": 10, "atom_parse": 5, "stagger": 20, "simulation": 1}
