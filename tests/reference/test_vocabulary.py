from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from reference import kv
from reference.matching import load_index, normalise
from reference.models import Category, Tool, ToolAlias
from reference.vocabulary import Vocabulary, VocabularyVersion, build_vocabulary


def build(engine: Engine, n_tools: int, n_categories: int, seed: int) -> Vocabulary:
    with Session(engine) as session, session.begin():
        return build_vocabulary(session, n_tools, n_categories, seed)


def spellings(vocabulary: Vocabulary) -> tuple[list[tuple[str, ...]], list[str]]:
    return list(vocabulary.tools.values()), list(vocabulary.categories.values())


def test_builds_what_it_reports_all_active_with_one_to_three_aliases(engine: Engine) -> None:
    vocabulary = build(engine, n_tools=40, n_categories=7, seed=3)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).where(Tool.is_active)) == 40
        assert session.scalar(select(func.count()).where(Category.is_active)) == 7
        aliases = session.execute(select(ToolAlias.tool_id, ToolAlias.alias)).all()
    assert {(tool_id, alias) for tool_id, alias in aliases} == {
        (tool_id, alias) for tool_id, forms in vocabulary.tools.items() for alias in forms[1:]
    }
    alias_counts = {len(forms) - 1 for forms in vocabulary.tools.values()}
    assert alias_counts == {1, 2, 3}


def test_same_seed_same_names_other_seed_other_names(engine: Engine) -> None:
    with Session(engine) as session:
        first = build_vocabulary(session, 30, 5, seed=1)
        session.rollback()
        again = build_vocabulary(session, 30, 5, seed=1)
        session.rollback()
        other = build_vocabulary(session, 30, 5, seed=2)
        session.rollback()
    assert spellings(first) == spellings(again)
    assert spellings(first) != spellings(other)


def test_every_spelling_matches_its_own_item_only(engine: Engine) -> None:
    vocabulary = build(engine, n_tools=200, n_categories=12, seed=5)
    with engine.connect() as conn:
        index = load_index(conn)
    for tool_id, forms in vocabulary.tools.items():
        for form in forms:
            assert index.tools[normalise(form)] == {tool_id}, form
    for category_id, name in vocabulary.categories.items():
        assert index.categories[normalise(name)] == {category_id}
    # Aliases are worth having: each adds a key the name alone does not give.
    assert len(index.tools) == sum(len(forms) for forms in vocabulary.tools.values())


def test_version_is_shared_by_every_client_of_the_store(redis_url: str, key_prefix: str) -> None:
    key = f"{key_prefix}vocabulary"
    writer = VocabularyVersion(kv.connect(redis_url), key)
    reader = VocabularyVersion(kv.connect(redis_url), key)
    assert reader.current() == 0
    assert writer.bump() == 1
    assert writer.bump() == 2
    assert reader.current() == 2
