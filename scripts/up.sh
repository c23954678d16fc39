#!/usr/bin/env bash
# `make up`: infrastructure, migrations, seed, then the four apps in the foreground. Logs go to stdout
# (prefixed with the app) and to var/log/<app>.log. Ctrl-C or `make down` stops everything it started.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/env.sh
apps=(order inventory notification orchestrator)
pidfile=var/run/up.pid
mkdir -p var/run var/log

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "up: orderflow is already running under 'make up' (pid $(cat "$pidfile")); stop it with 'make down' or Ctrl-C in its terminal." >&2
  exit 1
fi
echo $$ > "$pidfile"

kafka_was_running=0
bash scripts/infra/kafka.sh status >/dev/null 2>&1 && kafka_was_running=1
started_infra_before="$(cat var/infra/started 2>/dev/null || true)"

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo "up: stopping apps…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  # Stop the infrastructure this run started, and nothing that was running before it.
  if [ "$kafka_was_running" = 0 ]; then bash scripts/infra/kafka.sh stop || true; fi
  if [ -z "$started_infra_before" ] && [ -s var/infra/started ]; then bash scripts/infra/down.sh || true; fi
  rm -f "$pidfile"
  echo "up: stopped"
}
trap 'stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

bash scripts/infra/up.sh
node dist/tools/main.js migrate

for app in "${apps[@]}"; do
  : > "var/log/$app.log"
  # Each app's output goes to its log file and, prefixed, to this terminal.
  node --enable-source-maps --max-old-space-size=160 --max-semi-space-size=16 "dist/$app/main.js" \
    > >(tee -a "var/log/$app.log" | sed -u "s/^/[$app] /") 2>&1 &
  pids+=($!)
done

deadline=$((SECONDS + 60))
# Each app's ops port, where /readyz is: the orchestrator's OPS_PORT (its 8080 serves only the API).
ports=(8081 8082 8083 "${OPS_PORT:-8084}")
for i in "${!apps[@]}"; do
  until curl -fsS -o /dev/null "http://127.0.0.1:${ports[$i]}/readyz"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then echo "up: ${apps[$i]} exited during start-up; see var/log/${apps[$i]}.log" >&2; exit 1; fi
    if [ $SECONDS -ge $deadline ]; then echo "up: ${apps[$i]} not ready after 60 s; see var/log/${apps[$i]}.log" >&2; exit 1; fi
    sleep 0.5
  done
done
node dist/tools/main.js seed
echo "up: orderflow is ready: API on http://127.0.0.1:8080, /status and /metrics on :${OPS_PORT:-8084} (Ctrl-C or 'make down' stops it)"
wait
