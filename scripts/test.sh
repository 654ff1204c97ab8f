#!/usr/bin/env bash
# Set everything up (scripts/setup.sh) and run the whole test suite, guests included.
# Extra arguments go to pytest, e.g. scripts/test.sh -k sts
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${EUCALITE_VENV:-$ROOT/.venv}
bash "$ROOT/scripts/setup.sh" ${EUCALITE_SETUP_ARGS:-}
cd "$ROOT"
echo "[test] ruff"
"$VENV/bin/ruff" check eucalite tests scripts
echo "[test] mypy"
"$VENV/bin/mypy" eucalite
echo "[test] pytest"
exec "$VENV/bin/python" -m pytest -q --durations=20 "$@"
