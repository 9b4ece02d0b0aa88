# Sourced by .ci/run: start a throwaway PostgreSQL cluster on 127.0.0.1 (a free port, a random
# password, a temporary folder) for the decisions-store tests, and export its URL as
# SCREENING_TEST_POSTGRES_URL. Installs the Debian package when it is missing and we are root.
# When it cannot start a server it says so loudly and the PostgreSQL tests are skipped.
# The server is throwaway, so it does not fsync (its own crash safety is PostgreSQL's, not ours
# to test); clients killed mid-write, locks and concurrency behave exactly as on any server.
# `screening_pg_stop` stops the cluster and removes its folder (.ci/run calls it on exit).

screening_pg_start() {
  local bin user dir port password
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "PostgreSQL: installing the Debian package"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null 2>&1 || true
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  fi
  if [ -z "$bin" ]; then
    echo "!!! PostgreSQL is not installed and could not be installed: the PostgreSQL store tests will be SKIPPED !!!"
    return 1
  fi
  user="$(id -un)"
  if [ "$(id -u)" = 0 ]; then user=postgres; fi
  dir="$(mktemp -d /tmp/screening-pg.XXXXXX)"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
  printf '%s\n' "$password" > "$dir/pw"
  chown -R "$user" "$dir" 2>/dev/null || true
  chmod 700 "$dir"
  as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  if ! as_pg "$bin/initdb" -D "$dir/data" -U screening --pwfile="$dir/pw" --auth=scram-sha-256 -E UTF8 >"$dir/initdb.log" 2>&1 \
     || ! as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
          -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=60 -c fsync=off -c synchronous_commit=off" >/dev/null 2>&1; then
    echo "!!! PostgreSQL could not be started (see $dir/*.log): the PostgreSQL store tests will be SKIPPED !!!"
    tail -n 5 "$dir"/*.log 2>/dev/null || true
    return 1
  fi
  SCREENING_PG_DIR="$dir"
  SCREENING_PG_BIN="$bin"
  export SCREENING_TEST_POSTGRES_URL="postgresql://screening:$password@127.0.0.1:$port/postgres"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') running on 127.0.0.1:$port for the store tests"
}

screening_pg_stop() {
  if [ -n "${SCREENING_PG_DIR:-}" ]; then
    if [ "$(id -u)" = 0 ]; then
      runuser -u postgres -- "$SCREENING_PG_BIN/pg_ctl" -D "$SCREENING_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    else
      "$SCREENING_PG_BIN/pg_ctl" -D "$SCREENING_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$SCREENING_PG_DIR"
    unset SCREENING_PG_DIR SCREENING_TEST_POSTGRES_URL
  fi
}
