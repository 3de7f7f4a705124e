#!/usr/bin/env bash
# Set up chaintrail on a fresh machine: a virtualenv with the package and its test tools.
# Idempotent and quick when nothing changed (keyed on pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
# Debian packages: Pango for WeasyPrint (case reports), the report fonts, poppler-utils (pdftoppm in tests),
# ICU headers and a compiler for PyICU (followthemoney). Installed only when missing, and only as root.
debs="libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fonts-liberation poppler-utils libicu-dev pkg-config g++"
missing=""
for d in $debs; do dpkg -s "$d" >/dev/null 2>&1 || missing="$missing $d"; done
# The workbench: Debian's chromium for the browser tests (Playwright drives it; no browser is downloaded),
# and node/npm to fetch the front-end libraries. Checked by command, as node may come from elsewhere.
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -n "$missing" ] && command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
  else
    echo "setup.sh: missing Debian packages:$missing (install them as root)" >&2
  fi
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.chaintrail-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  # No pip cache: CI and fresh machines can be short of disk, and a cached copy of every wheel (pyspark
  # alone is ~300 MB) is only ever read by a second install.
  .venv/bin/python -m pip install -q --no-cache-dir --upgrade pip
  .venv/bin/python -m pip install -q --no-cache-dir -e ".[dev]"
  echo "$want" > "$stamp"
fi
# Byte-compile our sources once: where PYTHONDONTWRITEBYTECODE is set, every CLI command would
# otherwise recompile them (~0.3 s a command); stale .pyc files are rechecked by mtime anyway.
.venv/bin/python -m compileall -q src/chaintrail >/dev/null || true
# Translations: compile the gettext catalogs (src/chaintrail/i18n/locale/*/LC_MESSAGES/*.po -> .mo; without
# them the .po files are compiled in memory on first use).
.venv/bin/python -m chaintrail.i18n compile >/dev/null
# Front-end libraries (cytoscape, cytoscape-dagre) from npm, copied to src/chaintrail/web/build/vendor,
# rebuilt only when package-lock.json changes.
web="src/chaintrail/web"
web_stamp="$web/build/.chaintrail-built"
web_want="$(sha256sum "$web/package-lock.json" "$web/build.mjs" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$web_stamp" 2>/dev/null || true)" != "$web_want" ] || [ ! -f "$web/build/vendor/manifest.json" ]; then
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
  echo "$web_want" > "$web_stamp"
fi
# Ethereum tools from npm, pinned in scripts/eth/package-lock.json: anvil (the local node of tests, benches and
# the demo; its Linux binary comes in the optional package @foundry-rs/anvil-linux-*) and solcjs. Reinstalled
# only when the lock file changes.
eth="scripts/eth"
eth_stamp="$eth/node_modules/.chaintrail-installed"
eth_want="$(sha256sum "$eth/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$eth_stamp" 2>/dev/null || true)" != "$eth_want" ]; then
  (cd "$eth" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$eth_want" > "$eth_stamp"
fi
# Numba kernels: compile the demo's and the workbench's into numba's on-disk cache (__pycache__ beside each
# source, keyed by the file's mtime and size), so the first `chaintrail demo` loads them instead of spending
# a minute or two compiling. Redone when a source file or the installed packages changed since the last warm.
warm_stamp="src/chaintrail/__pycache__/.chaintrail-warm"
if [ ! -f "$warm_stamp" ] || [ -n "$(find src/chaintrail -name '*.py' -newer "$warm_stamp" -print -quit)" ] \
   || [ "$stamp" -nt "$warm_stamp" ]; then
  echo "setup.sh: compiling the numba kernels once (a minute or two)..." >&2
  if .venv/bin/chaintrail warm --json >/dev/null; then
    mkdir -p "$(dirname "$warm_stamp")" && touch "$warm_stamp"
  else
    echo "setup.sh: warming the kernels failed; the first chaintrail demo will compile them" >&2
  fi
fi
