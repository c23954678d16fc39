#!/usr/bin/env bash
# `make down`: stops a `make up` running in another terminal (it cleans up after itself).
set -euo pipefail
cd "$(dirname "$0")/.."
pidfile=var/run/up.pid
if ! [ -f "$pidfile" ] || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "down: no 'make up' is running"
  rm -f "$pidfile"
  exit 0
fi
pid="$(cat "$pidfile")"
kill -TERM "$pid"
for _ in $(seq 1 120); do
  kill -0 "$pid" 2>/dev/null || { echo "down: stopped"; exit 0; }
  sleep 0.5
done
echo "down: 'make up' (pid $pid) did not stop within 60 s" >&2
exit 1
