import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, event, select
from sqlalchemy.orm import Session

from reference import kv
from reference.matching import (
    MAX_TAGS_PER_VIDEO,
    AliasIndexCache,
    CachedMatcher,
    Match,
    link_matches,
    normalise,
    normalise_tags,
)
from reference.models import (
    Category,
    Project,
    ProjectCategory,
    ProjectTool,
    Tool,
    ToolAlias,
    User,
)
from reference.vocabulary import VocabularyVersion, build_vocabulary
from ytscale.instruments.querycount import count_queries
from ytscale.variants.matching import VARIANTS, PerTagMatcher, PerVideoMatcher

# Hypothesis runs many examples against one database; each example resets the vocabulary itself.
DB_PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

ToolSpec = tuple[str, bool, Sequence[str]]  # name, active, aliases
CategorySpec = tuple[str, bool]


def store(
    engine: Engine, tools: Sequence[ToolSpec], categories: Sequence[CategorySpec] = ()
) -> tuple[list[int], list[int]]:
    """Replace the vocabulary; return the tool and category ids in the order given."""
    with Session(engine) as session, session.begin():
        for model in (ToolAlias, Tool, Category):
            session.execute(delete(model))
        tool_rows = [Tool(name=name, is_active=active) for name, active, _ in tools]
        category_rows = [Category(name=name, is_active=active) for name, active in categories]
        session.add_all([*tool_rows, *category_rows])
        session.flush()
        session.add_all(
            ToolAlias(alias=alias, tool_id=row.id)
            for row, (_, _, aliases) in zip(tool_rows, tools, strict=True)
            for alias in aliases
        )
        return [row.id for row in tool_rows], [row.id for row in category_rows]


def add_alias(engine: Engine, alias: str, tool_id: int) -> None:
    with Session(engine) as session, session.begin():
        session.add(ToolAlias(alias=alias, tool_id=tool_id))


def match_all(engine: Engine, tags: Sequence[str]) -> dict[str, Match]:
    return {name: variant(engine).match(tags) for name, variant in VARIANTS.items()}


# --- normalising ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "key"),
    [
        ("VS-Code", "vs code"),
        (" vs  code ", "vs code"),
        ("vs_code!", "vs code"),
        ("ＶＳ　Ｃｏｄｅ", "vs code"),
        ("Node.js", "node js"),
        ("C++", "c++"),
        ("C#", "c#"),
        ("Straße", "strasse"),
        ("日本語 チュートリアル", "日本語 チュートリアル"),
        ("--- !!", ""),
    ],
)
def test_normalise(tag: str, key: str) -> None:
    assert normalise(tag) == key


@given(st.text())
def test_normalise_is_idempotent(tag: str) -> None:
    assert normalise(normalise(tag)) == normalise(tag)


def test_normalise_tags_dedupes_skips_empty_and_caps() -> None:
    tags = ["Python", "python ", "", "!!", *[f"tag {i}" for i in range(20)]]
    keys = normalise_tags(tags)
    assert keys == ("python", *[f"tag {i}" for i in range(MAX_TAGS_PER_VIDEO - 1)])


@given(st.lists(st.text(max_size=6), max_size=50))
def test_normalise_tags_keeps_the_first_distinct_keys_in_order(tags: list[str]) -> None:
    keys = normalise_tags(tags)
    distinct = list(dict.fromkeys(k for k in map(normalise, tags) if k))
    assert list(keys) == distinct[:MAX_TAGS_PER_VIDEO]


# --- what matches -----------------------------------------------------------------------------


def test_names_and_aliases_match_their_tool_in_every_variant(engine: Engine) -> None:
    (vscode, blender), (web,) = store(
        engine,
        [("VS Code", True, ["vscode", "code-oss"]), ("Blender", True, ["blender3d"])],
        [("Web Development", True)],
    )
    tags = ["vs-code", "Code OSS", "BLENDER3D", "web  development", "unrelated"]
    expected = Match(tools=frozenset({vscode, blender}), categories=frozenset({web}))
    assert match_all(engine, tags) == dict.fromkeys(VARIANTS, expected)


def test_inactive_tools_and_categories_never_match(engine: Engine) -> None:
    (_, active), (_, web) = store(
        engine,
        [("Old Tool", False, ["oldtool", "shared"]), ("New Tool", True, ["shared tool"])],
        [("Retired", False), ("Web", True)],
    )
    tags = ["old tool", "oldtool", "Shared", "shared-tool", "retired", "web"]
    expected = Match(tools=frozenset({active}), categories=frozenset({web}))
    assert match_all(engine, tags) == dict.fromkeys(VARIANTS, expected)


def test_only_the_first_max_tags_are_read(engine: Engine) -> None:
    names = [f"Tool {i}" for i in range(MAX_TAGS_PER_VIDEO + 2)]
    tool_ids, _ = store(engine, [(name, True, []) for name in names])
    expected = Match(tools=frozenset(tool_ids[:MAX_TAGS_PER_VIDEO]))
    assert match_all(engine, names) == dict.fromkeys(VARIANTS, expected)


SPELLING = st.text(alphabet="abAB c-_.+#1", min_size=1, max_size=6)
RESPELL = st.sampled_from(
    [str, str.upper, str.swapcase, lambda s: s.replace(" ", "-"), lambda s: f" {s}!"]
)


@st.composite
def vocabularies_and_tags(draw: Any) -> tuple[list[ToolSpec], list[CategorySpec], list[str]]:
    """ASCII vocabularies (what the N+1 variant is exact for) with colliding keys, and tags
    mixing re-spelt vocabulary with arbitrary text."""
    names = draw(st.lists(SPELLING, unique=True, max_size=8))
    aliases: list[list[str]] = [[] for _ in names]
    if names:
        for alias in draw(st.lists(SPELLING, unique=True, max_size=10)):
            aliases[draw(st.integers(0, len(names) - 1))].append(alias)
    tools = [(name, draw(st.booleans()), owned) for name, owned in zip(names, aliases, strict=True)]
    categories = [(name, draw(st.booleans())) for name in draw(st.lists(SPELLING, unique=True))]
    forms = [*names, *(a for owned in aliases for a in owned), *(n for n, _ in categories)]
    tag = st.text(max_size=8)
    if forms:
        tag = st.one_of(tag, st.builds(lambda f, s: f(s), RESPELL, st.sampled_from(forms)))
    return tools, categories, draw(st.lists(tag, max_size=50))


def oracle(
    tools: Sequence[ToolSpec],
    tool_ids: Sequence[int],
    categories: Sequence[CategorySpec],
    category_ids: Sequence[int],
    tags: Sequence[str],
) -> Match:
    keys = set(normalise_tags(tags))
    return Match(
        tools=frozenset(
            id_
            for id_, (name, active, aliases) in zip(tool_ids, tools, strict=True)
            if active and keys & {normalise(form) for form in (name, *aliases)}
        ),
        categories=frozenset(
            id_
            for id_, (name, active) in zip(category_ids, categories, strict=True)
            if active and normalise(name) in keys
        ),
    )


@DB_PROPERTY
@given(case=vocabularies_and_tags())
def test_every_variant_returns_the_specified_match(
    engine: Engine, case: tuple[list[ToolSpec], list[CategorySpec], list[str]]
) -> None:
    tools, categories, tags = case
    tool_ids, category_ids = store(engine, tools, categories)
    expected = oracle(tools, tool_ids, categories, category_ids, tags)
    assert match_all(engine, tags) == dict.fromkeys(VARIANTS, expected)


# --- what it costs ----------------------------------------------------------------------------

TAGS = st.lists(st.one_of(st.integers(min_value=0), st.text(max_size=8)), max_size=50)


def build(engine: Engine, n_tools: int, n_categories: int, seed: int) -> list[str]:
    """A fresh ``build_vocabulary`` vocabulary; return every spelling in it."""
    store(engine, [])
    with Session(engine) as session, session.begin():
        vocabulary = build_vocabulary(session, n_tools, n_categories, seed)
    return [
        *(f for forms in vocabulary.tools.values() for f in forms),
        *vocabulary.categories.values(),
    ]


def as_tags(picks: list[int | str], forms: list[str]) -> list[str]:
    """Integers pick vocabulary spellings (re-cased), strings stay as noise."""
    return [
        p if isinstance(p, str) else forms[p % len(forms)].upper()
        for p in picks
        if forms or isinstance(p, str)
    ]


@DB_PROPERTY
@given(
    n_tools=st.integers(0, 30),
    n_categories=st.integers(0, 8),
    seed=st.integers(0, 99),
    picks=st.lists(TAGS, min_size=1, max_size=4),
)
def test_ours_costs_one_statement_to_load_then_none(
    engine: Engine, n_tools: int, n_categories: int, seed: int, picks: list[list[int | str]]
) -> None:
    forms = build(engine, n_tools, n_categories, seed)
    matcher = CachedMatcher(engine)
    videos = [as_tags(video, forms) for video in picks]
    with count_queries(engine) as queries:
        for tags in videos:
            matcher.match(tags)
    assert queries.count == (1 if any(normalise_tags(tags) for tags in videos) else 0)


@DB_PROPERTY
@given(n_tools=st.integers(0, 30), seed=st.integers(0, 99), picks=TAGS)
def test_before_costs_two_statements_per_distinct_key(
    engine: Engine, n_tools: int, seed: int, picks: list[int | str]
) -> None:
    tags = as_tags(picks, build(engine, n_tools, 5, seed))
    with count_queries(engine) as queries:
        PerTagMatcher(engine).match(tags)
    assert queries.count == 2 * len(normalise_tags(tags))


@DB_PROPERTY
@given(n_tools=st.integers(0, 30), seed=st.integers(0, 99), picks=st.lists(TAGS, max_size=6))
def test_after_costs_three_statements_for_every_video(
    engine: Engine, n_tools: int, seed: int, picks: list[list[int | str]]
) -> None:
    forms = build(engine, n_tools, 5, seed)
    videos = [as_tags(video, forms) for video in picks]
    matcher = PerVideoMatcher(engine)
    with count_queries(engine) as queries:
        for tags in videos:
            matcher.match(tags)
    assert queries.count == 3 * sum(1 for tags in videos if normalise_tags(tags))


def test_per_video_costs_side_by_side(engine: Engine) -> None:
    build(engine, n_tools=10, n_categories=3, seed=0)
    counts = {}
    for name, variant in VARIANTS.items():
        matcher = variant(engine)
        with count_queries(engine) as queries:
            for i in range(100):
                matcher.match([f"video {i}", f"topic {i % 7}"])
        counts[name] = queries.count
    assert counts == {"before": 400, "after": 300, "ours": 1}


def test_concurrent_first_matches_load_the_index_once(engine: Engine) -> None:
    build(engine, n_tools=50, n_categories=5, seed=0)
    matcher = CachedMatcher(engine)
    start = threading.Barrier(8)

    def first_match() -> Match:
        start.wait()
        return matcher.match(["kf1", "anything"])

    with count_queries(engine) as queries, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: first_match(), range(8)))
    assert queries.count == 1
    assert len(set(results)) == 1


# --- freshness --------------------------------------------------------------------------------


def test_invalidate_picks_up_a_new_alias(engine: Engine) -> None:
    (blender,), _ = store(engine, [("Blender", True, [])])
    matcher = CachedMatcher(engine)
    assert matcher.match(["b3d"]) == Match()
    add_alias(engine, "B3D", blender)
    assert matcher.match(["b3d"]) == Match(), "the warm index is reused, not re-read"
    matcher.cache.invalidate()
    assert matcher.match(["b3d"]) == Match(tools=frozenset({blender}))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_version_bump_in_another_process_reaches_every_cache(
    engine: Engine, redis_url: str, key_prefix: str
) -> None:
    (blender,), _ = store(engine, [("Blender", True, [])])
    key = f"{key_prefix}vocabulary"
    clock = Clock()
    # Each cache has its own store client, as separate processes would.
    lazy = CachedMatcher(
        engine, AliasIndexCache(engine, VocabularyVersion(kv.connect(redis_url), key), 60, clock)
    )
    eager = CachedMatcher(
        engine, AliasIndexCache(engine, VocabularyVersion(kv.connect(redis_url), key), 0, clock)
    )
    for matcher in (lazy, eager):
        assert matcher.match(["b3d"]) == Match()

    add_alias(engine, "b3d", blender)
    VocabularyVersion(kv.connect(redis_url), key).bump()

    found = Match(tools=frozenset({blender}))
    with count_queries(engine) as queries:
        assert eager.match(["b3d"]) == found
        assert lazy.match(["b3d"]) == Match(), "checked at most every 60 s"
    assert queries.count == 1
    clock.now = 60
    assert lazy.match(["b3d"]) == found
    with count_queries(engine) as queries:
        assert (eager.match(["b3d"]), lazy.match(["b3d"])) == (found, found)
    assert queries.count == 0, "an unchanged version costs no reload"


def test_a_change_committed_during_the_load_is_not_missed(
    engine: Engine, redis_url: str, key_prefix: str
) -> None:
    (blender,), _ = store(engine, [("Blender", True, [])])
    version = VocabularyVersion(kv.connect(redis_url), f"{key_prefix}vocabulary")
    matcher = CachedMatcher(engine, AliasIndexCache(engine, version, check_every=0))
    done = False

    def writer_commits_after_the_load_query(*_: Any) -> None:
        nonlocal done
        if not done:
            done = True
            add_alias(engine, "b3d", blender)
            version.bump()

    event.listen(engine, "after_cursor_execute", writer_commits_after_the_load_query)
    try:
        assert matcher.match(["b3d"]) == Match(), "the load saw the vocabulary before the change"
    finally:
        event.remove(engine, "after_cursor_execute", writer_commits_after_the_load_query)
    assert matcher.match(["b3d"]) == Match(tools=frozenset({blender}))


# --- links ------------------------------------------------------------------------------------


def test_link_matches_adds_missing_links_and_keeps_existing_ones(engine: Engine) -> None:
    (vscode, blender, gimp), (web, art) = store(
        engine,
        [("VS Code", True, []), ("Blender", True, []), ("GIMP", True, [])],
        [("Web", True), ("Art", True)],
    )
    with Session(engine) as session, session.begin():
        user = User(name="u")
        session.add(user)
        session.flush()
        project = Project(
            user_id=user.id, video_id="dQw4w9WgXcQ", external_url="https://youtu.be/x"
        )
        session.add(project)
        session.flush()
        link_matches(session, project.id, Match(frozenset({vscode, blender}), frozenset({web})))
        link_matches(session, project.id, Match(frozenset({blender, gimp}), frozenset({web, art})))
        link_matches(session, project.id, Match())
        tools = session.scalars(
            select(ProjectTool.tool_id).where(ProjectTool.project_id == project.id)
        )
        categories = session.scalars(select(ProjectCategory.category_id))
        assert sorted(tools) == sorted([vscode, blender, gimp])
        assert sorted(categories) == sorted([web, art])
