"""Worker slots for the capacity windows, and the record of every sync they ran.

Two kinds, one interface (:class:`Slots`):

- :class:`ThreadSlots`: one Celery worker in this process, a threads pool, on any broker (the
  embedded ``memory://`` default). The GIL makes it one core, whatever the machine has.
- :class:`ProcessSlots`: real ``celery worker`` processes (this module's ``__main__``), one per
  core, the slots shared out between them, on a broker other processes reach (Redis). Each
  process builds its own fake YouTube from the same seed and compression, so every process sees
  the same catalogue and latencies; it writes one line per sync to a file the harness reads.

Either way a sync is recorded as (source, began, finished, slot) in ``time.time()`` seconds, from
the task's ``task_prerun``/``task_postrun`` signals.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import psutil
from celery.signals import task_postrun, task_prerun, worker_ready

from reference import tasks
from reference.settings import Settings
from ytscale.fake.faults import FaultConfig, Latency
from ytscale.fake.youtube import FakeConfig, FakeYouTube
from ytscale.worker import embedded_worker

SYNC_TASK = "ytscale.sync_source"
#: Budgets large enough that quota never decides a point: other claims measure quota.
UNLIMITED = 1_000_000_000
SPEC_ENV = "YTSCALE_WINDOW_WORKER"


@dataclass(frozen=True)
class StackSpec:
    """What a worker needs to build its stack: the scratch settings and the fake's shape."""

    database_url: str
    redis_url: str
    broker_url: str
    key_prefix: str
    seed: int
    start: str
    compression: float
    latency_mean_s: float

    def fake(self) -> FakeYouTube:
        return FakeYouTube(
            FakeConfig(
                seed=self.seed,
                start=datetime.fromisoformat(self.start),
                time_scale=self.compression,
                daily_quota=UNLIMITED,
                faults=FaultConfig(latency=Latency(mean_s=self.latency_mean_s)),
            )
        )

    def settings(self, base: Settings) -> Settings:
        return replace(
            base,
            database_url=self.database_url,
            redis_url=self.redis_url,
            broker_url=self.broker_url,
            key_prefix=self.key_prefix,
            daily_quota=UNLIMITED,
        )


def build_app(spec: StackSpec, base: Settings) -> tasks.YtscaleCelery:
    """The pipeline's Celery app on ``spec``'s scratch stack, its sync task unthrottled.

    The per-worker rate limit is a constraint of its own (claim C14): here the model is held to
    the slots and the service time.
    """
    fake = spec.fake()
    app = tasks.create_app(spec.settings(base), youtube_transport=fake.transport())
    app.tasks[SYNC_TASK].rate_limit = None
    return app


class Recorder:
    """Connects to the task signals and hands each finished sync of ``app`` to ``sink``."""

    def __init__(self, app: tasks.YtscaleCelery, sink: Any) -> None:
        self.app, self.sink = app, sink
        self.began: dict[str, float] = {}
        self.prefix = f"{os.getpid()}:"

    def _ours(self, sender: Any) -> bool:
        return getattr(sender, "name", None) == SYNC_TASK and sender.app is self.app

    def _began(self, sender: Any = None, task_id: str = "", **_: Any) -> None:
        if self._ours(sender):
            self.began[task_id] = time.time()

    def _finished(self, sender: Any = None, task_id: str = "", args: Any = None, **_: Any) -> None:
        if self._ours(sender):
            began = self.began.pop(task_id, time.time())
            self.sink(int(args[0]), began, time.time(), f"{self.prefix}{threading.get_ident()}")

    def __enter__(self) -> Recorder:
        task_prerun.connect(self._began, weak=False)
        task_postrun.connect(self._finished, weak=False)
        return self

    def __exit__(self, *_: object) -> None:
        task_prerun.disconnect(self._began)
        task_postrun.disconnect(self._finished)


class Sink(Protocol):
    def __call__(self, source_id: int, began: float, finished: float, slot: str) -> None: ...


class Slots(Protocol):
    """Worker slots running one stack's syncs; ``poll`` hands the new records to the sink."""

    cores: float

    def poll(self) -> int: ...

    def cpu_seconds(self) -> float: ...


class ThreadSlots:
    """One in-process worker with ``slots`` threads."""

    cores = 1.0

    def __init__(self, app: tasks.YtscaleCelery, slots: int, sink: Sink) -> None:
        self.app, self.slots, self.sink = app, slots, sink
        self.count = 0
        self._lock = threading.Lock()

    def _record(self, source_id: int, began: float, finished: float, slot: str) -> None:
        with self._lock:
            self.sink(source_id, began, finished, slot)
            self.count += 1

    @contextmanager
    def running(self) -> Iterator[ThreadSlots]:
        recording = Recorder(self.app, self._record)
        with recording, embedded_worker(self.app, concurrency=self.slots) as worker:
            try:
                yield self
            finally:
                # The test worker's exit terminates without waiting for its threads, which
                # would go on with the syncs a finished run left due: from here on a due task
                # is dropped (unacked, it goes back to the queue, which is purged), those held
                # to their ETA are forgotten, and the running ones end while the stack is open.
                worker.pool.on_apply = _drop
                worker.timer.clear()
                worker.pool.executor.shutdown(wait=True, cancel_futures=True)

    def poll(self) -> int:
        return self.count

    def cpu_seconds(self) -> float:
        # The worker's threads are this process's; so is the harness, idle while it waits.
        return time.process_time()


class ProcessSlots:
    """``celery worker`` processes, one per core, sharing ``slots`` threads between them."""

    def __init__(self, spec: StackSpec, slots: int, sink: Sink, processes: int) -> None:
        self.spec, self.sink = spec, sink
        self.processes = max(1, min(processes, slots))
        self.cores = float(min(self.processes, os.cpu_count() or 1))
        base, extra = divmod(slots, self.processes)
        self.concurrency = [base + (i < extra) for i in range(self.processes)]
        self.folder = Path(tempfile.mkdtemp(prefix="ytscale-workers-"))
        self.count = 0
        self._offsets: dict[Path, int] = {}
        self._procs: list[subprocess.Popen[bytes]] = []

    @contextmanager
    def running(self) -> Iterator[ProcessSlots]:
        try:
            for i, concurrency in enumerate(self.concurrency):
                self._procs.append(self._spawn(i, concurrency))
            self._await_ready(timeout=60.0)
            yield self
        finally:
            self._stop()
            self.poll()

    def _spawn(self, i: int, concurrency: int) -> subprocess.Popen[bytes]:
        env = os.environ | {SPEC_ENV: json.dumps(asdict(self.spec))}
        log_path = str(self.folder / f"{i}.log")
        argv = [sys.executable, "-m", "ytscale.report.window_workers", log_path, str(concurrency),
                f"window{i}"]  # fmt: skip
        log = (self.folder / f"{i}.err").open("wb")
        return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)

    def _await_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = sum((self.folder / f"{i}.ready").exists() for i in range(self.processes))
            if ready == self.processes:
                return
            dead = [p for p in self._procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"a window worker exited with {dead[0].returncode}: "
                                   f"{self._tail()}")  # fmt: skip
            time.sleep(0.05)
        raise TimeoutError(f"window workers not ready in {timeout:.0f} s: {self._tail()}")

    def _tail(self) -> str:
        logs = sorted(self.folder.glob("*.err"))
        text = "".join(p.read_text(errors="replace")[-400:] for p in logs)
        return text.strip() or "(no output)"

    def _stop(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # warm shutdown: running syncs finish
        for proc in self._procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def poll(self) -> int:
        for path in sorted(self.folder.glob("*.log")):
            with path.open("rb") as f:
                f.seek(self._offsets.get(path, 0))
                chunk = f.read()
            whole = chunk[: chunk.rfind(b"\n") + 1]
            self._offsets[path] = self._offsets.get(path, 0) + len(whole)
            for line in whole.splitlines():
                source, began, finished, slot = line.decode().split()
                self.sink(int(source), float(began), float(finished), slot)
                self.count += 1
        return self.count

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in self._procs:
            try:
                times = psutil.Process(proc.pid).cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total


def _drop(*_: object, **__: object) -> None:
    """A pool's ``on_apply`` that runs nothing."""


def purge(app: tasks.YtscaleCelery) -> None:
    """Drop what is left in the queues (ETA tasks a stopped worker handed back, a run's excess)."""
    with app.connection_for_write() as conn:
        for queue in (tasks.SYNC_QUEUE, tasks.IMPORT_QUEUE):
            conn.default_channel.queue_purge(queue)


def _main(argv: list[str]) -> None:
    """A worker process: ``window_workers LOG CONCURRENCY NAME``, its stack from the environment."""
    log, concurrency, name = Path(argv[0]), int(argv[1]), argv[2]
    spec = StackSpec(**json.loads(os.environ[SPEC_ENV]))
    app = build_app(spec, Settings.from_env())
    out = log.open("a", buffering=1)
    lock = threading.Lock()

    def write(source_id: int, began: float, finished: float, slot: str) -> None:
        with lock:
            out.write(f"{source_id} {began:.6f} {finished:.6f} {slot}\n")

    def ready(**_: Any) -> None:
        log.with_suffix(".ready").touch()

    worker_ready.connect(ready, weak=False)

    with Recorder(app, write):
        app.worker_main(["worker", "--pool", "threads", "--concurrency", str(concurrency),
                         "--queues", tasks.SYNC_QUEUE, "--hostname", f"{name}@%h",
                         "--without-gossip", "--without-mingle", "--without-heartbeat",
                         "--loglevel", "WARNING"])  # fmt: skip


if __name__ == "__main__":
    _main(sys.argv[1:])
