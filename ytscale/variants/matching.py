"""The P0 report's tag matching (claim #3), "before" and "after", beside ours.

```python
matcher = VARIANTS["after"](engine)          # or "before", "ours"
```

Every variant normalises tags the same way and returns the same ``Match``; they differ only in
``_lookup``, i.e. in how many SQL statements a video costs (``k`` = distinct tag keys, at most
``MAX_TAGS_PER_VIDEO``):

- ``before``: one statement per key for tools and one for categories: ``2k`` per video.
- ``after`` (the report's fix): all active tools, then the matched tool objects, then all active
  categories: ``3`` per video, every video; 1,000 videos a day cost 3,000 statements, not 100.
- ``ours`` (``reference.matching.CachedMatcher``): ``0`` per video once warm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import Engine, select, union_all
from sqlalchemy.orm import Session

from reference.matching import (
    AliasIndex,
    CachedMatcher,
    Match,
    Predicate,
    TagMatcher,
    category_forms,
    tool_forms,
)
from reference.models import Tool


class PerTagMatcher(TagMatcher):
    """The report's "before": a tools query and a categories query for every key (N+1).

    SQL cannot normalise, so each query fetches the spellings containing the key's words in order
    (a superset for ASCII spellings, such as ``build_vocabulary``'s) and the exact check is done in
    Python. A non-ASCII spelling that case-folds differently in SQL may be missed here.
    """

    def _lookup(self, keys: tuple[str, ...]) -> Match:
        match = Match()
        with self.engine.connect() as conn:
            for key in keys:
                contains = _containing_words(key)
                tools = conn.execute(union_all(*tool_forms(contains))).all()
                categories = conn.execute(category_forms(contains)).all()
                match |= AliasIndex.from_rows([*tools, *categories]).lookup([key])
        return match


def _containing_words(key: str) -> Predicate:
    # Keys hold no LIKE wildcard: "%", "_" and "\" are punctuation, so normalising removed them.
    pattern = "%" + "%".join(key.split(" ")) + "%"
    return lambda column: column.ilike(pattern)


class PerVideoMatcher(TagMatcher):
    """The report's "after": batched within a video, but loaded again for every video."""

    def _lookup(self, keys: tuple[str, ...]) -> Match:
        with Session(self.engine) as session:
            tools = session.execute(union_all(*tool_forms())).all()
            matched = AliasIndex.from_rows(tools).lookup(keys).tools
            # The report fetches the matched Tool objects to link them.
            objects = session.scalars(select(Tool).where(Tool.id.in_(matched))).all()
            categories = session.execute(category_forms()).all()
        return Match(
            tools=frozenset(tool.id for tool in objects),
            categories=AliasIndex.from_rows(categories).lookup(keys).categories,
        )


#: The variants by the names benchmarks and the report use.
VARIANTS: Mapping[str, Callable[[Engine], TagMatcher]] = {
    "before": PerTagMatcher,
    "after": PerVideoMatcher,
    "ours": CachedMatcher,
}
