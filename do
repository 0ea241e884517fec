#!/usr/bin/env bash
# ytscale's front door. Every command creates or refreshes .venv first, so a fresh clone needs only python3.
#
#   ./do report    the full report on embedded defaults (SQLite, fakeredis, in-process fake YouTube)
#   ./do test      lint, type-check, the test suite (real-server tests run when their URLs are set),
#                  then the quick benchmarks and their regression gate
#   ./do bench     the full benchmark suite, then its gate (JSON into reports/benchmarks/)
#   ./do bench quick   the subset CI runs (-m quick), then its gate
#   ./do bench [quick] --compare BASELINE.json   ...then a Mann-Whitney test against a saved run
#   ./do <cmd>     any other ytscale command: seed, serve, ... (./do --help)
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3}
VENV=.venv

ensure_venv() {
  if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "ytscale needs Python >= 3.11 (found: $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
    exit 2
  fi
  # Reinstall only when the dependency list changed since the last install.
  local stamp="$VENV/.ytscale-installed"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV" >&2
    "$PY" -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "==> installing ytscale and its dev/report extras into $VENV" >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e '.[dev,report]'
    touch "$stamp"
  fi
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
  test)
    ensure_venv
    echo "==> ruff" >&2
    "$VENV/bin/ruff" check reference ytscale tests benchmarks loadtests
    "$VENV/bin/ruff" format --check reference ytscale tests benchmarks loadtests
    echo "==> mypy reference/ ytscale/" >&2
    "$VENV/bin/mypy"
    echo "==> layering contract (import-linter: the pipeline imports no harness)" >&2
    "$VENV/bin/lint-imports" --no-cache
    echo "==> pytest" >&2
    "$VENV/bin/python" -m pytest "$@"
    echo "==> quick benchmarks and their regression gate" >&2
    exec "$0" bench quick
    ;;
  bench)
    ensure_venv
    mkdir -p reports/benchmarks
    # quick: the subset CI runs. The gate checks the run's JSON against benchmarks/bounds.toml even
    # when a benchmark failed, so one report names every problem; either failing fails the command.
    # --compare BASELINE: then test every benchmark's rounds against a saved run's (Mann-Whitney).
    subset=full; select=(); gate=(); baseline=""; rest=()
    if [ "${1:-}" = quick ]; then
      shift; subset=quick; select=(-m quick --benchmark-max-time=0.5); gate=(--quick)
    fi
    while [ $# -gt 0 ]; do
      if [ "$1" = --compare ]; then baseline=${2:?--compare needs a saved run}; shift 2
      else rest+=("$1"); shift; fi
    done
    out=reports/benchmarks/$subset.json
    rm -f "$out"  # never gate a previous run's figures
    status=0
    "$VENV/bin/python" -m pytest benchmarks "${select[@]}" --benchmark-json="$out" ${rest[@]+"${rest[@]}"} || status=$?
    "$VENV/bin/python" -m benchmarks.gate "$out" "${gate[@]}" || status=$?
    if [ -n "$baseline" ]; then
      "$VENV/bin/python" -m benchmarks.compare "$baseline" "$out" || status=$?
    fi
    exit "$status"
    ;;
  help|-h|--help)
    sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
    ;;
  *)
    ensure_venv
    exec "$VENV/bin/ytscale" "$cmd" "$@"
    ;;
esac
