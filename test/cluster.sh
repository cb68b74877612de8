#!/usr/bin/env bash
# A private, throwaway PostgreSQL 15 cluster for childguard's demo and tests.
#
# CLI:
#   test/cluster.sh start DIR PORT   initdb (first time), new master key, start
#   test/cluster.sh stop DIR         fast shutdown; fine if already stopped
#   test/cluster.sh psql DIR ARGS... psql -X against the cluster
#   test/cluster.sh env DIR          print export lines for PGHOST/PGPORT/PGUSER
#   test/cluster.sh free-port [FROM] print the first free port >= FROM (55432)
#   test/cluster.sh destroy DIR      stop, then remove DIR
# Library (source it): cg_start, cg_stop, cg_psql, cg_export, cg_free_port,
# cg_destroy, cg_as_server, plus CG_BINDIR / CG_PG_CONFIG.
#
# Layout under DIR: data/ (PGDATA), keys/master.key (outside PGDATA on
# purpose: the key must never end up in a base backup), socket/, server.log,
# port.  Clients connect with PGHOST=DIR/socket PGPORT=PORT PGUSER=postgres.
set -euo pipefail

# Always the PG 15 binaries by full path: /usr/bin/pg_config is Debian's
# wrapper that picks the newest installed major, and /usr/local/bin may hold
# unrelated tools named like PostgreSQL's.
if [ -z "${CG_PG_CONFIG:-}" ]; then
  if [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
    CG_PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
  else
    CG_PG_CONFIG=${PG_CONFIG:-pg_config}
  fi
fi
CG_BINDIR=$("$CG_PG_CONFIG" --bindir)
# the server settings the tests assume, documented for `make installcheck`
CG_CONF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/childguard.conf
CG_SERVER_USER=postgres

cg_die() { echo "cluster.sh: $*" >&2; return 1; }

# PostgreSQL refuses to run as root, so as root every server-side command runs
# as the postgres system user.  cd / first: the caller's cwd may be a
# directory postgres cannot enter (a clone under /root, mode 0700).
cg_as_server() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u "$CG_SERVER_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

cg_abspath() {
  # DIR may not exist yet; resolve its parent.
  local d=$1
  case "$d" in /*) ;; *) d="$PWD/$d" ;; esac
  printf '%s\n' "$d"
}

cg_port_in_use() {
  local port=$1 s
  # Sockets of other clusters: in the default socket dirs, and those of other
  # harness runs, whose sockets live in private dirs.
  for s in /tmp /var/run/postgresql /run/postgresql \
           /tmp/childguard-*/socket /tmp/childguard-*/*/socket; do
    [ -S "$s/.s.PGSQL.$port" ] && return 0
  done
  # Anything listening on that TCP port (bash's /dev/tcp: no extra tools).
  if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
    return 0
  fi
  if command -v ss >/dev/null 2>&1 &&
     [ -n "$(ss -Hlnt "sport = :$port" 2>/dev/null)" ]; then
    return 0
  fi
  return 1
}

cg_free_port() {
  local port=${1:-55432} last
  last=$((port + 200))
  while [ "$port" -le "$last" ]; do
    if ! cg_port_in_use "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
    port=$((port + 1))
  done
  cg_die "no free port in ${1:-55432}..$last"
}

cg_log_tail() {
  local dir=$1
  if [ -f "$dir/server.log" ]; then
    echo "----- tail of $dir/server.log -----" >&2
    tail -n 60 "$dir/server.log" >&2 || true
    echo "-----------------------------------" >&2
  fi
}

cg_check_traversable() {
  # The server user must reach DIR through every parent (access(2) checks
  # search permission on each component) and write into it.
  local dir=$1
  if [ "$(id -u)" -eq 0 ] &&
     ! runuser -u "$CG_SERVER_USER" -- test -x "$dir" -a -w "$dir"; then
    cg_die "$CG_SERVER_USER cannot reach or write $dir (a parent not searchable?); use a base under /tmp"
  fi
}

cg_new_key() {
  # Fresh 256-bit master key: 64 lowercase hex chars + newline, mode 0600.
  local dir=$1 key
  key=$(openssl rand -hex 32)
  [[ "$key" =~ ^[0-9a-f]{64}$ ]] || cg_die "openssl rand gave an unexpected key format" || return 1
  (umask 077 && printf '%s\n' "$key" > "$dir/keys/master.key")
  chmod 0600 "$dir/keys/master.key"
  chmod 0700 "$dir/keys"
  if [ "$(id -u)" -eq 0 ]; then
    chown "$CG_SERVER_USER:$CG_SERVER_USER" "$dir/keys" "$dir/keys/master.key"
  fi
}

cg_start() {
  local dir port
  [ $# -eq 2 ] || cg_die "usage: start DIR PORT" || return 1
  dir=$(cg_abspath "$1"); port=$2
  [[ "$port" =~ ^[0-9]+$ ]] || cg_die "bad port: $port" || return 1
  # A unix socket path is limited to 107 bytes.
  [ ${#dir} -le 80 ] || cg_die "DIR path too long for a unix socket: $dir" || return 1

  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown "$CG_SERVER_USER:$CG_SERVER_USER" "$dir"
  fi
  chmod 0755 "$dir"   # root/other users need to reach socket/ and server.log
  cg_check_traversable "$dir" || return 1

  if [ ! -f "$dir/data/PG_VERSION" ]; then
    cg_as_server mkdir -p "$dir/keys" "$dir/socket"
    chmod 0755 "$dir/socket"
    cg_as_server "$CG_BINDIR/initdb" -D "$dir/data" --auth=trust \
      --encoding=UTF8 --locale=C.UTF-8 --username=postgres >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      cg_die "initdb failed"
      return 1
    }
    cg_new_key "$dir" || return 1
    # The documented settings (test/childguard.conf: what `make
    # installcheck` needs of any server; its key path, ../keys/master.key,
    # is the key made above), then only where to listen and log.
    { printf '\n# --- childguard settings (test/childguard.conf) ---\n'
      cat "$CG_CONF"
      cat <<EOF

# --- where the harness's cluster listens (test/cluster.sh) ---
port = $port
listen_addresses = ''
unix_socket_directories = '$dir/socket'
logging_collector = off
max_wal_size = '1GB'
EOF
    } | cg_as_server tee -a "$dir/data/postgresql.conf" >/dev/null
  else
    # Reusing an existing cluster: a later "port =" line wins.
    printf 'port = %s\n' "$port" | cg_as_server tee -a "$dir/data/postgresql.conf" >/dev/null
  fi
  printf '%s\n' "$port" > "$dir/port"

  if cg_as_server "$CG_BINDIR/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    echo "cluster.sh: already running in $dir"
    return 0
  fi
  if ! cg_as_server "$CG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
        -w -t 120 start >/dev/null; then
    cg_log_tail "$dir"
    cg_die "server failed to start (DIR=$dir PORT=$port)"
    return 1
  fi
  echo "cluster.sh: started PostgreSQL 15 in $dir on port $port (socket $dir/socket)"
}

cg_stop() {
  local dir
  [ $# -eq 1 ] || cg_die "usage: stop DIR" || return 1
  dir=$(cg_abspath "$1")
  [ -f "$dir/data/PG_VERSION" ] || return 0
  # pg_ctl status exits 3 when no server runs: nothing to do.
  if ! cg_as_server "$CG_BINDIR/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    return 0
  fi
  if ! cg_as_server "$CG_BINDIR/pg_ctl" -D "$dir/data" -m fast -w -t 120 stop >/dev/null; then
    cg_log_tail "$dir"
    cg_die "pg_ctl stop failed in $dir"
    return 1
  fi
}

cg_destroy() {
  local dir
  [ $# -eq 1 ] || cg_die "usage: destroy DIR" || return 1
  dir=$(cg_abspath "$1")
  cg_stop "$dir" || true
  rm -rf -- "$dir"
}

# Set PGHOST/PGPORT/PGUSER in the calling shell.
cg_export() {
  local dir
  dir=$(cg_abspath "$1")
  [ -f "$dir/port" ] || cg_die "no cluster in $dir (no port file)" || return 1
  export PGHOST="$dir/socket"
  PGPORT=$(cat "$dir/port"); export PGPORT
  export PGUSER=postgres
  unset PGDATABASE PGSERVICE PGPASSWORD PGHOSTADDR || true
}

cg_psql() {
  local dir
  [ $# -ge 1 ] || cg_die "usage: psql DIR [psql args...]" || return 1
  dir=$1; shift
  (cg_export "$dir" && exec "$CG_BINDIR/psql" -X "$@")
}

cg_main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case "$cmd" in
    start)     cg_start "$@" ;;
    stop)      cg_stop "$@" ;;
    destroy)   cg_destroy "$@" ;;
    psql)      cg_psql "$@" ;;
    free-port) cg_free_port "$@" ;;
    env)
      [ $# -eq 1 ] || cg_die "usage: env DIR"
      cg_export "$1"
      printf 'export PGHOST=%q PGPORT=%q PGUSER=%q\n' "$PGHOST" "$PGPORT" "$PGUSER"
      ;;
    *)
      echo "usage: $0 {start DIR PORT|stop DIR|destroy DIR|psql DIR ...|env DIR|free-port [FROM]}" >&2
      return 2
      ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  cg_main "$@"
fi
