"""The report's load-test step: ``ytscale serve`` on a free loopback port, then Locust headless
against it at the 100,000-user population's peak rate, CSV (full history) and HTML into ``--out``;
with ``--knee-steps``, then the step-load search (:mod:`loadtests.knee`) into ``--out/knee``.

```bash
python -m loadtests.run --out reports/loadtest --run-time 45 --knee-steps 8
```

Everything stays on loopback. A run that misses a threshold still counts as a measurement: its
verdict is printed and lands in the CSV/HTML for the report; only a run with no stats fails.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from reference.settings import PROJECT_ROOT, Settings

BANNER = re.compile(r"API\s+(http://127\.0\.0\.1:\d+)")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.quick:
        args.run_time = min(args.run_time, 10)
    args.out.mkdir(parents=True, exist_ok=True)
    # Only this run's search in --out: a report without one must not show an earlier knee.
    shutil.rmtree(args.out / "knee", ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "LOCUST_SKIP_MONKEY_PATCH"}
    # In the environment, not the argv: `ps` shows every user a process's arguments.
    env["DATABASE_URL"] = args.database_url or Settings.from_env().database_url
    serve, host = start_serve(
        [sys.executable, "-m", "ytscale.serve", "--port", "0", "--users", str(args.users),
         "--videos-per-user", str(args.videos_per_user)],
        args.out / "serve.log", env=env, timeout=args.startup_timeout,
    )  # fmt: skip
    try:
        prefix = args.out / "api"
        print(f"load test: {args.run_time} s against {host}", file=sys.stderr, flush=True)
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "locust", "--config", "loadtests/locust.conf", "--host", host,
             "--run-time", f"{args.run_time}s", "--csv", str(prefix), "--html", f"{prefix}.html",
             "--population-users", str(args.users)],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
            timeout=args.run_time + 120,
        )  # fmt: skip
        (args.out / "locust.log").write_text(result.stderr)
        verdict = [
            line for line in result.stderr.splitlines() if "threshold" in line or "invalid" in line
        ]
        print("\n".join(verdict[-5:]) or f"locust exited {result.returncode}", file=sys.stderr)
        print(f"load test took {time.monotonic() - started:.0f} s", file=sys.stderr)
        history = Path(f"{prefix}_stats_history.csv")
        if not history.exists() or history.stat().st_size == 0:
            print(result.stderr[-3000:], file=sys.stderr)
            return result.returncode or 1
        if args.knee_steps:
            _knee(host, args)
        return 0
    finally:
        serve.terminate()
        serve.wait(timeout=60)


def _knee(host: str, args: argparse.Namespace) -> None:
    """The step-load search against the same server: its knee and USL fit, for the report.

    A search whose first step broke is still a measurement, so its exit code is only printed.
    """
    from loadtests import knee

    print(
        f"step-load search: up to {args.knee_steps} steps of {args.knee_step_s} s", file=sys.stderr
    )
    code = knee.main(
        ["--host", host, "--out", str(args.out / "knee"), "--step-s", str(args.knee_step_s),
         "--max-steps", str(args.knee_steps), "--", "--population-users", str(args.users)]
    )  # fmt: skip
    if code:
        print(f"step-load search exited {code}", file=sys.stderr)


def start_serve(
    command: Sequence[str], log: Path, *, env: dict[str, str], timeout: float
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the server with its output going to ``log`` and wait for its banner's URL.

    A file, not a pipe: a pipe read only until the banner fills with the server's later output,
    and the server then blocks writing to it in the middle of the load test.
    """
    with open(log, "wb") as sink:
        serve = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if found := BANNER.search(text):
            return serve, found.group(1)
        if serve.poll() is not None:
            break
        time.sleep(0.2)
    serve.terminate()
    serve.wait(timeout=60)
    tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-30:])
    raise RuntimeError(f"the server did not start (log: {log}):\n{tail}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m loadtests.run",
        description="Serve the local stack on loopback and hold the population's peak rate on it.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=PROJECT_ROOT / "reports" / "loadtest")
    # No default shown: a URL from the environment may carry a password.
    p.add_argument("--database-url", help="default: DATABASE_URL, else var/ytscale.db")
    p.add_argument("--users", type=int, default=100_000, help="seeded population to serve")
    p.add_argument("--videos-per-user", type=int, default=50)
    p.add_argument("--run-time", type=int, default=45, help="seconds of load")
    p.add_argument("--quick", action="store_true", help="a 10-second run")
    p.add_argument("--startup-timeout", type=float, default=300.0)
    p.add_argument(
        "--knee-steps",
        type=int,
        default=0,
        help="then the step-load search with python -m loadtests.knee's rates and thresholds, "
        "at most this many steps: the knee and the USL (0: no search)",
    )
    p.add_argument("--knee-step-s", type=int, default=10, help="seconds of load per step")
    return p


if __name__ == "__main__":
    raise SystemExit(main())
