"""What the import-linter contract (``pyproject.toml``, run by ``./do test``) cannot express.

import-linter tracks external packages by their top-level name only, so "the pipeline never imports
Celery's test aid" is checked here, on every ``import`` statement in ``reference/``.
"""

import ast
from pathlib import Path

import reference

FORBIDDEN = ("celery.contrib.testing",)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_pipeline_imports_no_celery_test_aid() -> None:
    package = Path(reference.__file__).parent
    offending = {
        f"{path.relative_to(package.parent)}: {name}"
        for path in package.rglob("*.py")
        for name in imported_modules(path)
        if name.startswith(FORBIDDEN)
    }
    assert not offending


def test_the_check_sees_the_import_it_forbids(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from celery.contrib.testing.worker import start_worker\n")
    assert "celery.contrib.testing.worker" in imported_modules(module)
