#!/usr/bin/env bash
# Run the whole test suite (sets up first if needed). Exits non-zero if any test fails or none ran.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# PostgreSQL for the case team-server tests; without it they fail in CI (CI set) and skip locally.
if [ -z "${CHAINTRAIL_TEST_PG_DSN:-}" ]; then
  CHAINTRAIL_TEST_PG_DSN="$(bash scripts/postgres.sh)" || CHAINTRAIL_TEST_PG_DSN=""
  export CHAINTRAIL_TEST_PG_DSN
fi
exec .venv/bin/python -m pytest -n 2 -q "$@"
