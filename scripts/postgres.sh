#!/usr/bin/env bash
# A throwaway PostgreSQL for the team-server tests: installs Debian's postgresql if missing (apt-get, as root),
# initialises a cluster in a temp folder owned by the `postgres` user, starts it on a unix socket there plus a
# loopback port, and prints its DSN on stdout (everything else goes to stderr). Idempotent: a running cluster
# is reused. `scripts/postgres.sh stop` stops it.
#   CHAINTRAIL_PG_DIR   where the cluster lives   [default: /tmp/chaintrail-pg-<hash of this checkout>]
#   CHAINTRAIL_PG_PORT  loopback port             [default: a free port, remembered in the cluster folder]
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "postgres.sh: $*" >&2; }

DIR="${CHAINTRAIL_PG_DIR:-/tmp/chaintrail-pg-$(pwd | sha256sum | cut -c1-10)}"
DATA="$DIR/data"
RUN="$DIR/run"

find_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}

BIN="$(find_bin || true)"
if [ -z "$BIN" ]; then
  if [ "$(id -u)" -ne 0 ]; then log "postgresql is not installed and installing it needs root"; exit 1; fi
  log "installing postgresql from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  BIN="$(find_bin)" || { log "postgresql installed but initdb/pg_ctl not found"; exit 1; }
fi

# initdb and the server refuse to run as root: run them as `postgres` when we are root.
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  OWNER=postgres
  as_owner() { runuser -u postgres -- "$@"; }
else
  OWNER="$(id -un)"
  as_owner() { "$@"; }
fi

dsn() {
  local pw
  pw="$(cat "$DIR/password")"
  # Clusters started before the port was remembered used the old fixed default.
  echo "postgresql://postgres:${pw}@127.0.0.1:$(cat "$DIR/port" 2>/dev/null || echo 54329)/postgres"
}

free_port() {
  # Another checkout's cluster (or anything else) may hold a fixed port, so ask the kernel for a free one.
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

if [ "${1:-}" = "stop" ]; then
  if [ -f "$DATA/PG_VERSION" ]; then as_owner "$BIN/pg_ctl" -D "$DATA" -m fast stop >&2 || true; fi
  exit 0
fi

if [ -f "$DATA/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  dsn
  exit 0
fi

if [ ! -f "$DATA/PG_VERSION" ]; then
  log "initialising a cluster in $DATA"
  rm -rf "$DIR"
  mkdir -p "$DIR" "$RUN"
  head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$DIR/password"
  chmod 600 "$DIR/password"
  chown -R "$OWNER" "$DIR"
  chmod 700 "$DIR"
  chmod 755 "$RUN"
  as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=scram-sha-256 --pwfile="$DIR/password" \
    --encoding=UTF8 --locale=C.UTF-8 --no-sync >&2
fi
# The temp folder must let the test user reach the socket and read the password; the data stays private.
chmod 711 "$DIR"
chmod 644 "$DIR/password" 2>/dev/null || true

PORT="${CHAINTRAIL_PG_PORT:-$(free_port)}"
echo "$PORT" > "$DIR/port"
chmod 644 "$DIR/port"
log "starting on 127.0.0.1:$PORT and $RUN"
if ! as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 \
     -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$RUN -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >&2; then
  log "the server did not start; its log:"
  tail -n 30 "$DIR/server.log" >&2 || true
  exit 1
fi
dsn
