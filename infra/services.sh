#!/usr/bin/env bash
# Make sure Redis, PostgreSQL and the Kafka broker answer on 127.0.0.1 at their standard ports
# (6379, 5432, 9092). A service that is missing is installed from Debian's packages (as root, with
# apt-get); one that is installed but down is started. Kafka runs from the JARs `make setup`
# fetched (infra/kafka.lock), started by `featurelake services start kafka`
# (src/featurelake/services/kafka.py), which also creates the topics. The tests of the prod
# profile need Redis and PostgreSQL, the Kafka tests the broker; the embedded default needs none.
#
#   infra/services.sh [SERVICE...]          check, install and start what is down, create the databases
#   infra/services.sh --check [SERVICE...]  only check; exit 1 when one is down
#   infra/services.sh --stop [SERVICE...]   stop them
# SERVICE is redis, postgres or kafka; all three when none is named.
set -u
mode=start
case "${1:-}" in
  --check) mode=check; shift ;;
  --stop) mode=stop; shift ;;
esac
root="$(cd "$(dirname "$0")/.." && pwd)"
services=()
for name in "${@:-redis postgres kafka}"; do
  for svc in $name; do
    case "$svc" in
      redis|kafka) services+=("$svc") ;;
      postgres|pg) services+=(pg) ;;
      *) echo "unknown service $svc: use redis, postgres or kafka"; exit 2 ;;
    esac
  done
done
wants() { [[ " ${services[*]} " == *" $1 "* ]]; }

featurelake() {
  # The project's own CLI: the one implementation of the Kafka broker's start, stop and status.
  local cli="$root/.venv/bin/featurelake"
  [ -x "$cli" ] || { echo "no $cli: run make setup first"; return 1; }
  "$cli" "$@"
}

redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

apt_updated=0
apt_install() {
  # apt_install PACKAGE...: Debian's packages, as root only; says how otherwise.
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "$* not installed: sudo apt-get install -y $*"
    return 1
  fi
  echo "installing $* (apt-get)"
  if [ $apt_updated = 0 ]; then apt-get update -qq >/dev/null && apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

start_redis() {
  command -v redis-server >/dev/null || apt_install redis-server || return 1
  # Debian's package may start its own instance on 6379; ours only starts when none answers.
  redis_up && return 0
  mkdir -p /tmp/featurelake-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp/featurelake-redis --logfile /tmp/featurelake-redis/redis.log >/dev/null
}

pg_version() { ls /etc/postgresql 2>/dev/null | sort -n | tail -1; }

pg_trust_loopback() {
  # The documented DSN (postgresql://postgres@127.0.0.1:5432/...) carries no password, so the
  # local cluster must trust the postgres user on loopback. Debian's default asks for a
  # password there; add one line above its rules, once, and say so.
  local hba="/etc/postgresql/$1/main/pg_hba.conf"
  [ -w "$hba" ] || return 0
  grep -q "featurelake: trust postgres on loopback" "$hba" && return 0
  echo "allowing passwordless postgres on 127.0.0.1 in $hba (local development cluster)"
  { echo "# featurelake: trust postgres on loopback (infra/services.sh)"
    echo "host all postgres 127.0.0.1/32 trust"
    cat "$hba"; } >"$hba.featurelake" && cat "$hba.featurelake" >"$hba" && rm -f "$hba.featurelake"
}

start_pg() {
  command -v pg_ctlcluster >/dev/null && [ -n "$(pg_version)" ] || apt_install postgresql || return 1
  local v
  v=$(pg_version)
  [ -n "$v" ] || { echo "PostgreSQL installed no cluster under /etc/postgresql"; return 1; }
  pg_trust_loopback "$v"
  pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null \
    || pg_ctlcluster --skip-systemctl-redirect "$v" main reload 2>/dev/null || true
}

stop_redis() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'SHUTDOWN NOSAVE\r\n' >&3) 2>/dev/null; }
stop_pg() {
  local v
  v=$(pg_version)
  [ -n "$v" ] && pg_ctlcluster --skip-systemctl-redirect "$v" main stop 2>/dev/null
}

status=0
for svc in redis pg; do
  wants $svc || continue
  if [ $mode = stop ]; then
    ${svc}_up || continue
    echo "stopping $svc"
    stop_$svc
    for _ in $(seq 1 60); do ${svc}_up || break; sleep 0.5; done
    ! ${svc}_up || { echo "$svc did not stop"; status=1; }
    continue
  fi
  if ! ${svc}_up; then
    if [ $mode = check ]; then echo "$svc is down"; status=1; continue; fi
    echo "starting $svc"
    start_$svc || status=1
    for _ in $(seq 1 60); do ${svc}_up && break; sleep 0.5; done
    ${svc}_up || { echo "$svc did not come up"; status=1; }
  fi
done

if wants pg && [ $status = 0 ] && [ $mode = start ]; then
  if ! psql -h 127.0.0.1 -U postgres -tAc "select 1" >/dev/null 2>&1; then
    # up, but the loopback rule was not there when it started (it was already running)
    pg_trust_loopback "$(pg_version)" && pg_ctlcluster --skip-systemctl-redirect "$(pg_version)" main reload 2>/dev/null
    sleep 1
  fi
  psql -h 127.0.0.1 -U postgres -tAc "select 1" >/dev/null 2>&1 \
    || { echo "postgres answers but refuses postgres@127.0.0.1 without a password"; exit 1; }
  # the databases the prod profile and its tests use
  for db in featurelake featurelake_test airflow mlflow; do
    psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='$db'" 2>/dev/null | grep -q 1 \
      || psql -h 127.0.0.1 -U postgres -qc "create database $db" >/dev/null 2>&1 || true
  done
fi

if wants kafka; then
  case $mode in
    start) featurelake services start kafka || { echo "kafka did not come up"; status=1; } ;;
    check) featurelake services status kafka >/dev/null || { echo "kafka is down"; status=1; } ;;
    stop) featurelake services stop kafka || status=1 ;;
  esac
fi

if [ $status = 0 ] && [ $mode = start ]; then
  echo "up: ${services[*]/pg/postgres}"
fi
exit $status
