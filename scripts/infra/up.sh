#!/usr/bin/env bash
# `make infra-up`: makes sure PostgreSQL, Redis, RabbitMQ and Kafka answer. Services on loopback that
# are down are started with this machine's commands and recorded in var/infra/started, so infra-down
# stops only what this started. Safe to run twice.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
. scripts/env.sh
mkdir -p var/infra
touch var/infra/started

say() { echo "infra: $*"; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
host_of() { local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"; echo "${rest%:*}"; }
port_of() { local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"; [[ "$rest" == *:* ]] && echo "${rest##*:}" || echo "$2"; }
is_local() { [[ "$1" == 127.* || "$1" == localhost || "$1" == "::1" ]]; }

# ensure NAME ENV_VAR URL DEFAULT_PORT START_COMMAND
ensure() {
  local name=$1 var=$2 url=$3 default_port=$4 start_cmd=$5
  local host port
  host=$(host_of "$url"); port=$(port_of "$url" "$default_port")
  if port_open "$host" "$port"; then say "$name answers on $host:$port"; return; fi
  # This machine's start commands only bring a service up on loopback at its default port.
  if ! is_local "$host" || [ "$port" != "$default_port" ]; then say "$name at $host:$port ($var) does not answer; start it or point $var elsewhere" >&2; exit 1; fi
  local bin=${start_cmd%% *}
  if ! command -v "$bin" >/dev/null; then
    say "$name is not running on $host:$port and '$bin' is not installed here; install $name or set $var to a running one" >&2
    exit 1
  fi
  say "starting $name…"
  eval "$start_cmd" >/dev/null || { say "'$start_cmd' failed; $name is not reachable on $host:$port (set $var to a running one)" >&2; exit 1; }
  grep -qx "$name" var/infra/started || echo "$name" >> var/infra/started
  local deadline=$((SECONDS + 90))
  until port_open "$host" "$port"; do
    if [ $SECONDS -ge $deadline ]; then say "$name did not answer on $host:$port within 90 s" >&2; exit 1; fi
    sleep 0.5
  done
  say "$name started on $host:$port"
}

ensure postgresql DATABASE_URL "$DATABASE_URL" 5432 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
ensure redis REDIS_URL "$REDIS_URL" 6379 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log'
ensure rabbitmq AMQP_URL "$AMQP_URL" 5672 'rabbitmq-server -detached'

kafka="${KAFKA_BROKERS%%,*}"
if is_local "${kafka%:*}"; then
  KAFKA_PORT="${kafka##*:}" bash scripts/infra/kafka.sh start
elif port_open "${kafka%:*}" "${kafka##*:}"; then
  say "kafka answers on $kafka"
else
  say "kafka at $kafka (KAFKA_BROKERS) does not answer" >&2
  exit 1
fi
