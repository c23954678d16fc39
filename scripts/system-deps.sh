#!/usr/bin/env bash
# Debian packages the tests use beyond Node and Java: curl (scripts) and Chromium (the /docs test
# renders Swagger UI in it; playwright-core downloads no browser here). Installed only when missing.
set -euo pipefail
missing=()
command -v curl >/dev/null || missing+=(curl)
command -v chromium >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: missing ${missing[*]}; install them with your package manager (Debian: apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "system-deps: installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
