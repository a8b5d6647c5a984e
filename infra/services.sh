#!/usr/bin/env bash
# Make sure Redis and PostgreSQL answer on 127.0.0.1 at their standard ports,
# starting them when they are installed but down. The tests of the prod
# profile need both; the embedded default needs neither.
#
#   infra/services.sh          check, start what is down, create the databases
#   infra/services.sh --check  only check; exit 1 when one is down
set -u
check_only=0
[ "${1:-}" = "--check" ] && check_only=1

redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

start_redis() {
  command -v redis-server >/dev/null || { echo "redis-server is not installed (apt-get install redis-server)"; return 1; }
  mkdir -p /tmp/featurelake-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp/featurelake-redis --logfile /tmp/featurelake-redis/redis.log >/dev/null
}

start_pg() {
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  else
    echo "PostgreSQL is not installed (apt-get install postgresql)"; return 1
  fi
}

status=0
for svc in redis pg; do
  if ! ${svc}_up; then
    if [ $check_only = 1 ]; then echo "$svc is down"; status=1; continue; fi
    echo "starting $svc"
    start_$svc || status=1
    for _ in $(seq 1 30); do ${svc}_up && break; sleep 0.5; done
    ${svc}_up || { echo "$svc did not come up"; status=1; }
  fi
done

if [ $status = 0 ] && [ $check_only = 0 ]; then
  # the databases the prod profile and its tests use
  for db in featurelake featurelake_test airflow; do
    psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='$db'" 2>/dev/null | grep -q 1 \
      || psql -h 127.0.0.1 -U postgres -qc "create database $db" >/dev/null 2>&1 || true
  done
  echo "redis and postgres are up"
fi
exit $status
