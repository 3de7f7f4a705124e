#!/usr/bin/env bash
# Run the whole test suite (sets up first if needed). Exits non-zero if any test fails or none ran.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -n 2 -q "$@"
