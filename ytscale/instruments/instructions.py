"""Count the CPU instructions one call of an operation executes, under valgrind's callgrind.

```python
per_call = instructions_per_call({"url": ("benchmarks.cpu_paths:canonical_urls", 100)})
```

Times on a shared machine move by tens of percent; instruction counts do not move at all. Each
target names a factory (``module:function``) that returns the operation, a callable of no
arguments, and how many calls to count. One child interpreter under callgrind (some 50 times
slower than native, most of it spent translating code the first time it runs, imports included)
handles every target in turn, so shared imports are paid once: it builds the operation, calls it
:data:`WARMUP` times (Python specialises bytecode after a few calls, and caches fill), collects
garbage, then makes the counted calls through ``operator.call`` and ends the target with
``os.getpgrp()``. Callgrind collects only inside ``operator.call``'s C function
(``--toggle-collect``) and writes a part file after every ``os.getpgrp`` (``--dump-after``), so
start-up, imports, factories and the loop are not counted and each part is one target's.
``PYTHONHASHSEED`` is pinned, so set and dict orders, and with them the counts, repeat exactly for
the same targets in the same order.

Needs ``valgrind`` on ``PATH`` and an interpreter whose symbol table names both C functions
(pyenv's and python.org's builds do; a stripped one collects nothing, reported as an error).
"""

from __future__ import annotations

import gc
import importlib
import operator
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

#: Calls made before counting starts.
WARMUP = 20
HASH_SEED = "0"
#: The C functions that bracket counting: ``operator.call`` and ``os.getpgrp``.
COLLECT, DUMP = "_operator_call", "os_getpgrp"
_TOTALS = re.compile(rb"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


class InstructionCountError(RuntimeError):
    """Valgrind is missing, the child failed, or nothing was collected."""


def valgrind_available() -> bool:
    return shutil.which("valgrind") is not None


def instructions_per_call(targets: Mapping[str, tuple[str, int]]) -> dict[str, float]:
    """``{name: instructions per call}`` for ``{name: ("module:factory", calls)}``."""
    if not valgrind_available():
        raise InstructionCountError("valgrind is not on PATH (Debian: apt-get install valgrind)")
    env = {**os.environ, "PYTHONHASHSEED": HASH_SEED}
    args = [str(item) for target, calls in targets.values() for item in (target, calls)]
    with tempfile.TemporaryDirectory(prefix="ytscale-callgrind-") as folder:
        out = Path(folder) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", "--collect-atstart=no", f"--toggle-collect={COLLECT}",
            f"--dump-after={DUMP}", f"--callgrind-out-file={out}", sys.executable, "-m", __name__,
            *args,
        ]  # fmt: skip
        done = subprocess.run(command, env=env, capture_output=True, check=False)
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace")[-2000:]
            raise InstructionCountError(f"the callgrind child exited {done.returncode}: {tail}")
        totals = [_total(Path(f"{out}.{part}")) for part in range(1, len(targets) + 1)]
    counts = {}
    for (name, (_, calls)), total in zip(targets.items(), totals, strict=True):
        if total == 0:
            raise InstructionCountError(
                f"callgrind collected nothing for {name}: is {sys.executable} stripped?"
            )
        counts[name] = total / calls
    return counts


def load(target: str) -> Callable[[], object]:
    """The operation ``module:factory`` builds."""
    module, _, name = target.partition(":")
    factory: Callable[[], Callable[[], object]] = getattr(importlib.import_module(module), name)
    return factory()


def _total(part: Path) -> int:
    if not part.exists():
        raise InstructionCountError(f"callgrind wrote no {part.name}: is the interpreter stripped?")
    found = _TOTALS.search(part.read_bytes())
    return int(found.group(1)) if found else 0


def _run(args: list[str]) -> None:
    for target, calls in zip(args[::2], args[1::2], strict=True):
        op = load(target)
        for _ in range(WARMUP):
            op()
        gc.collect()
        for _ in range(int(calls)):
            operator.call(op)
        os.getpgrp()


if __name__ == "__main__":
    _run(sys.argv[1:])
