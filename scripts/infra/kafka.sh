#!/usr/bin/env bash
# A local Apache Kafka 3.9 broker (KRaft, single node) run from its Maven Central jars.
# Usage: kafka.sh install|start|stop|status. Data and logs live under var/ (git-ignored).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-9093}"
lib=var/kafka/lib
data="$root/var/kafka/data"
config=var/kafka/server.properties
pidfile=var/kafka/kafka.pid
log=var/log/kafka.log
classpath="$root/$lib/*"

say() { echo "infra: kafka: $*"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Whether the log shows "Kafka Server started" after its first $1 lines. log4j rotates the log at its
# size cap, maybe during this very start: a log shorter than $1 lines is a new file, read from its top.
started_since() {
  local from=$1
  [ "$(wc -l < "$log" 2>/dev/null || echo 0)" -lt "$from" ] && from=0
  awk -v n="$from" 'NR > n && /Kafka Server started/ { ok = 1; exit } END { exit !ok }' "$log" 2>/dev/null
}
our_pid() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && cat "$pidfile"; }

install() {
  # Maven fetches the jars into ~/.m2 once; copying is skipped while the pom is unchanged.
  if [ -f "$lib/.installed" ] && [ "$lib/.installed" -nt tools/kafka/pom.xml ]; then return; fi
  say "fetching Kafka jars with Maven…"
  rm -rf "$lib"
  mkdir -p var/log
  # Output goes to a file: Debian's Maven 3.8 prints stray colour codes even with -q.
  if ! mvn -q -B -Dstyle.color=never -f tools/kafka/pom.xml package > var/log/kafka-install.log 2>&1; then
    tail -n 20 var/log/kafka-install.log >&2
    say "Maven could not fetch the Kafka jars; see var/log/kafka-install.log" >&2
    exit 1
  fi
  touch "$lib/.installed"
}

start() {
  if pid=$(our_pid); then say "already running (pid $pid) on 127.0.0.1:$port"; return; fi
  if port_open "$port"; then
    say "something else already listens on 127.0.0.1:$port; using it as the broker"
    return
  fi
  if port_open "$controller_port"; then say "port $controller_port (KAFKA_CONTROLLER_PORT) is taken by another process" >&2; exit 1; fi
  install
  mkdir -p var/kafka var/log "$data"
  sed -e "s#@PORT@#$port#g" -e "s#@CONTROLLER_PORT@#$controller_port#g" -e "s#@DATA_DIR@#$data#g" \
    tools/kafka/server.properties.tmpl > "$config"
  if [ ! -f "$data/meta.properties" ]; then
    # A cluster id is 16 random bytes in URL-safe base64; the fallback makes the same from /dev/urandom.
    cluster_id=$(java -cp "$classpath" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1) || true
    [ -n "$cluster_id" ] || cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    java -cp "$classpath" -Dlog4j.configuration="file:$root/tools/kafka/log4j.properties" -Dkafka.logs.dir="$root/var/log" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$config" >/dev/null
    say "formatted storage (cluster $cluster_id)"
  fi
  # setsid: the broker outlives this script and ignores a Ctrl-C meant for the terminal's foreground job.
  # The log is appended to across runs: only lines written after this point prove readiness.
  local log_lines=0
  [ -f "$log" ] && log_lines=$(wc -l < "$log")
  setsid nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$root/tools/kafka/log4j.properties" -Dkafka.logs.dir="$root/var/log" \
    -cp "$classpath" kafka.Kafka "$config" > var/log/kafka.out 2>&1 < /dev/null &
  echo $! > "$pidfile"
  local deadline=$((SECONDS + 90))
  until port_open "$port" && started_since "$log_lines"; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      say "broker exited during start-up; last lines of $log:" >&2
      tail -n 20 "$log" var/log/kafka.out >&2 || true
      rm -f "$pidfile"
      exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then say "not ready after 90 s; see $log" >&2; exit 1; fi
    sleep 0.5
  done
  say "started (pid $(cat "$pidfile")) on 127.0.0.1:$port"
}

stop() {
  local pid
  if ! pid=$(our_pid); then say "not running"; rm -f "$pidfile"; return; fi
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; say "stopped"; return; }
    sleep 0.5
  done
  say "did not stop within 30 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

status() {
  if pid=$(our_pid); then say "running (pid $pid)"; else say "not running"; return 1; fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
