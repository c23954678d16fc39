#!/usr/bin/env bash
# `make infra-down`: stops the local Kafka broker and whichever services infra-up started.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/infra/kafka.sh stop
while read -r name; do
  case "$name" in
    postgresql) pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main stop ;;
    redis) redis-cli -p 6379 shutdown nosave || true ;;
    rabbitmq) rabbitmqctl stop >/dev/null ;;
    *) continue ;;
  esac
  echo "infra: stopped $name"
done < <(cat var/infra/started 2>/dev/null || true)
rm -f var/infra/started
