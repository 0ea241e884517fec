"""The matching vocabulary's write side: a deterministic builder, and the version writers bump.

```python
with Session(engine) as session, session.begin():
    vocabulary = build_vocabulary(session, n_tools=1000, n_categories=40, seed=7)
VocabularyVersion(kv.connect(settings.redis_url)).bump()   # after the commit, never before
```
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy.orm import Session

from reference import kv
from reference.models import Category, Tool, ToolAlias

_STEMS = (
    "kube", "forge", "vision", "stack", "pixel", "flow", "spark", "node", "data", "sync",
    "cloud", "byte", "vector", "render", "shader", "script", "query", "stream", "craft", "lens",
)  # fmt: skip
_TOPICS = (
    "Web Development", "Machine Learning", "Game Design", "DevOps", "Data Science", "Mobile Apps",
    "Security", "Embedded", "Audio", "Video Editing", "3D Modelling", "Productivity",
)  # fmt: skip


@dataclass(frozen=True)
class Vocabulary:
    """What ``build_vocabulary`` created: every spelling that should match, by id."""

    #: Tool id → its name, then its aliases.
    tools: dict[int, tuple[str, ...]]
    #: Category id → its name.
    categories: dict[int, str]


def build_vocabulary(
    session: Session,
    n_tools: int,
    n_categories: int,
    seed: int = 0,
    words: tuple[Sequence[str], Sequence[str]] = ((), ()),
) -> Vocabulary:
    """Add ``n_tools`` active tools (1–3 aliases each) and ``n_categories`` active categories.

    ``words`` (tool words, category words) name the first tools and categories, with no alias:
    the words videos are really tagged with (the fake catalogue's), so imports have something to
    match. The same arguments always give the same names; the rest end in their index, so they
    are unique within one call. Build into an empty vocabulary. The caller commits.
    """
    rng = random.Random(seed)
    tool_words, category_words = words
    tools: list[tuple[Tool, list[str]]] = [
        (Tool(name=word, is_active=True), []) for word in tool_words[:n_tools]
    ]
    for i in range(len(tools), n_tools):
        first, second = rng.sample(_STEMS, 2)
        # Each alias spells the tool differently enough to need its own row ("kubeforge12").
        spellings = [f"{first}{second}{i}", f"{first[0]}{second[0]}{i}", f"{first}{second}-v{i}"]
        tool = Tool(name=f"{first.title()} {second.title()} {i}", is_active=True)
        tools.append((tool, spellings[: rng.randint(1, 3)]))
    session.add_all(tool for tool, _ in tools)
    session.flush()
    session.add_all(
        ToolAlias(alias=alias, tool_id=tool.id) for tool, aliases in tools for alias in aliases
    )
    categories = [Category(name=word, is_active=True) for word in category_words[:n_categories]]
    categories += [
        Category(name=f"{rng.choice(_TOPICS)} {j}", is_active=True)
        for j in range(len(categories), n_categories)
    ]
    session.add_all(categories)
    session.flush()
    return Vocabulary(
        tools={tool.id: (tool.name, *aliases) for tool, aliases in tools},
        categories={category.id: category.name for category in categories},
    )


class VocabularyVersion:
    """A counter in the key-value store that every writer of the vocabulary bumps after committing.

    Readers (``matching.AliasIndexCache``) compare it with the value they loaded under, so a change
    made by any process reaches every process. Bump after the commit: a bump before it could let a
    reader reload the old rows under the new number and keep them.
    """

    KEY = "ytscale:vocabulary:version"

    def __init__(self, client: kv.Store, key: str = KEY) -> None:
        self._client = client
        self._key = key

    def current(self) -> int:
        raw = cast("bytes | None", self._client.get(self._key))
        return int(raw) if raw is not None else 0

    def bump(self) -> int:
        return cast(int, self._client.incr(self._key))
