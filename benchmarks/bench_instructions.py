"""The CPU-bound paths, counted in instructions: URL canonicalisation, alias-index matching, Atom
parsing, ``schedule_due``'s Python side (the stagger) and the capacity simulation.

Each :data:`benchmarks.cpu_paths.PATHS` operation is timed here as usual and counted under
callgrind (:mod:`ytscale.instruments.instructions`): ``extra_info["instructions_per_call"]``. The
count does not move with the machine's load, so the gate bounds it tightly where a timing bound
would need a margin of several times. The report's variants are counted beside ours where it has
one (the per-video index rebuild, the uniform stagger). One callgrind child counts every selected
case, so imports shared by paths are paid once (under valgrind they are most of its minute);
garbage is collected before each, so a selection changes a count by a few instructions at most.
Skipped, and so "not measured" by the gate, without valgrind.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.cpu_paths import CALLS, PATHS
from ytscale.instruments.instructions import instructions_per_call, load, valgrind_available

NAME = "test_instructions["
CASES = {(path, variant): f"benchmarks.cpu_paths:{PATHS[path][variant]}" for path in PATHS
         for variant in PATHS[path]}  # fmt: skip


@pytest.fixture(scope="session")
def counts(request: pytest.FixtureRequest) -> dict[str, float]:
    """Instructions per call of every case this session selected, counted by one child."""
    if not valgrind_available():
        pytest.skip("valgrind is not on PATH (Debian: apt-get install valgrind)")
    selected = [
        item.callspec.params for item in request.session.items if item.name.startswith(NAME)
    ]
    wanted = [(params["path"], params["variant"]) for params in selected]
    return instructions_per_call(
        {f"{path}/{variant}": (CASES[path, variant], CALLS[path]) for path, variant in wanted}
    )


@pytest.mark.quick
@pytest.mark.parametrize(("path", "variant"), list(CASES))
def test_instructions(
    benchmark: Any, case: Any, counts: dict[str, float], path: str, variant: str
) -> None:
    case("cpu", variant, path=path)
    benchmark.extra_info["instructions_per_call"] = counts[f"{path}/{variant}"]
    benchmark(load(CASES[path, variant]))
