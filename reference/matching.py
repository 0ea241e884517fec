"""A video's tags → tools and categories (report claim #3).

```python
matcher = CachedMatcher(engine)
match = matcher.match(video["snippet"].get("tags", []))
link_matches(session, project.id, match)
```

Tags are normalised (``normalise_tags``) and looked up in an alias index loaded by one statement
and kept by the process: ``0`` statements per video once warm; freshness is ``AliasIndexCache``'s
business. ``TagMatcher`` is the seam the report's two variants (``ytscale.variants.matching``)
share with ours: they differ only in ``_lookup``. A video without a usable tag costs no statement.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    SQLColumnExpression,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from reference.models import Category, Tool, ToolAlias
from reference.projects import link_tags
from reference.vocabulary import VocabularyVersion

#: Tags read per video, from the report's configuration constants (§5, "MAX_TAGS_PER_VIDEO = 10").
#: Counted after normalising, so duplicates and empty tags do not use up the budget.
MAX_TAGS_PER_VIDEO = 10

# Kept inside keys: they tell "C++" and "C#" from "C".
_KEEP = frozenset("+#")
TOOL, CATEGORY = "tool", "category"

Predicate = Callable[[SQLColumnExpression[str]], ColumnElement[bool]]


def normalise(text: str) -> str:
    """The key a spelling matches under: "VS-Code", " vs  code " and "ＶＳ_Code" all give "vs code".

    Compatibility forms are unified (NFKC), case is folded, and every run of characters that are
    not letters, marks, digits, ``+`` or ``#`` becomes one space.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    spaced = "".join(
        char if char in _KEEP or unicodedata.category(char)[0] in "LMN" else " " for char in folded
    )
    return " ".join(spaced.split())


def normalise_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """The first ``MAX_TAGS_PER_VIDEO`` distinct non-empty keys of ``tags``, in order."""
    keys: dict[str, None] = {}
    for tag in tags:
        if len(keys) == MAX_TAGS_PER_VIDEO:
            break
        if key := normalise(tag):
            keys[key] = None
    return tuple(keys)


@dataclass(frozen=True)
class Match:
    """The active tools and categories a video's tags name, by id."""

    tools: frozenset[int] = frozenset()
    categories: frozenset[int] = frozenset()

    def __or__(self, other: Match) -> Match:
        return Match(self.tools | other.tools, self.categories | other.categories)


@dataclass(frozen=True)
class AliasIndex:
    """Key → ids, for tools (names and aliases) and categories (names)."""

    tools: Mapping[str, frozenset[int]]
    categories: Mapping[str, frozenset[int]]

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]]) -> AliasIndex:
        """Build from ``(kind, id, spelling)`` rows as the ``_forms`` selects return them."""
        found: dict[str, defaultdict[str, set[int]]] = {
            TOOL: defaultdict(set),
            CATEGORY: defaultdict(set),
        }
        for kind, id_, spelling in rows:
            if key := normalise(spelling):
                found[kind][key].add(id_)
        tools, categories = (
            {key: frozenset(ids) for key, ids in found[kind].items()} for kind in (TOOL, CATEGORY)
        )
        return cls(tools, categories)

    def lookup(self, keys: Iterable[str]) -> Match:
        keys = tuple(keys)
        return Match(
            tools=frozenset(chain.from_iterable(self.tools.get(key, ()) for key in keys)),
            categories=frozenset(chain.from_iterable(self.categories.get(key, ()) for key in keys)),
        )


def _anything(_column: SQLColumnExpression[str]) -> ColumnElement[bool]:
    return true()


def tool_forms(where: Predicate = _anything) -> tuple[Select[Any], Select[Any]]:
    """Active tools' names and aliases as ``(kind, id, spelling)``."""
    kind = literal(TOOL).label("kind")
    names = select(kind, Tool.id, Tool.name).where(Tool.is_active, where(Tool.name))
    aliases = (
        select(kind, ToolAlias.tool_id, ToolAlias.alias)
        .join(Tool, Tool.id == ToolAlias.tool_id)
        .where(Tool.is_active, where(ToolAlias.alias))
    )
    return names, aliases


def category_forms(where: Predicate = _anything) -> Select[Any]:
    """Active categories' names as ``(kind, id, spelling)``."""
    kind = literal(CATEGORY).label("kind")
    return select(kind, Category.id, Category.name).where(Category.is_active, where(Category.name))


def load_index(conn: Connection | Session) -> AliasIndex:
    """The whole active vocabulary, in one statement."""
    return AliasIndex.from_rows(conn.execute(union_all(*tool_forms(), category_forms())))


class AliasIndexCache:
    """The alias index, loaded once and shared by every match (and thread) in the process.

    Freshness, chosen to hold across processes at no SQL cost per video:

    - ``invalidate()`` drops the index in this process at once;
    - with a ``VocabularyVersion``, which every writer bumps after committing, the cache reads the
      counter (one key-value GET, no SQL) at most every ``check_every`` seconds and reloads when it
      moved, so any process's change is seen everywhere within ``check_every`` seconds (``0``: on
      every match). The schema has no ``updated`` column to compare, and a count check would miss
      renames and deactivations.
    """

    def __init__(
        self,
        engine: Engine,
        version: VocabularyVersion | None = None,
        check_every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._version = version
        self._check_every = check_every
        self._clock = clock
        self._lock = threading.Lock()
        self._index: AliasIndex | None = None
        self._loaded_under = 0
        self._next_check = 0.0

    def get(self) -> AliasIndex:
        with self._lock:
            if self._index is not None and self._stale():
                self._index = None
            if self._index is None:
                # Read the version before the rows: a bump during the load then forces a reload.
                self._loaded_under = self._version.current() if self._version else 0
                with self._engine.connect() as conn:
                    self._index = load_index(conn)
                self._next_check = self._clock() + self._check_every
            return self._index

    def invalidate(self) -> None:
        with self._lock:
            self._index = None

    def _stale(self) -> bool:
        if self._version is None or self._clock() < self._next_check:
            return False
        self._next_check = self._clock() + self._check_every
        return self._version.current() != self._loaded_under


class TagMatcher(ABC):
    """Tags → ``Match``; subclasses differ only in how keys are looked up."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def match(self, tags: Iterable[str]) -> Match:
        keys = normalise_tags(tags)
        return self._lookup(keys) if keys else Match()

    @abstractmethod
    def _lookup(self, keys: tuple[str, ...]) -> Match: ...


class CachedMatcher(TagMatcher):
    """Ours: the process-wide alias index; no statement per video once it is loaded."""

    def __init__(self, engine: Engine, cache: AliasIndexCache | None = None) -> None:
        super().__init__(engine)
        self.cache = cache if cache is not None else AliasIndexCache(engine)

    def _lookup(self, keys: tuple[str, ...]) -> Match:
        return self.cache.get().lookup(keys)


def link_matches(session: Session, project_id: int, match: Match) -> None:
    """Link ``project_id`` to the matched tools and categories; existing links are left alone."""
    link_tags(
        session,
        tools={project_id: sorted(match.tools)},
        categories={project_id: sorted(match.categories)},
    )
