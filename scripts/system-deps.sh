#!/usr/bin/env bash
# Debian packages the tests use beyond Node and Java: curl (scripts) and Chromium (the /docs test
# renders Swagger UI in it; playwright-core downloads no browser here). Installed only when missing.
set -euo pipefail
missing=()
command -v curl >/dev/null || missing+=(curl)
# CHROMIUM_PATH may name another Chromium or Chrome instead (e2e/openapi.test.ts uses it).
if [ -n "${CHROMIUM_PATH:-}" ]; then [ -x "$CHROMIUM_PATH" ] || { echo "system-deps: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable" >&2; exit 1; }
else command -v chromium >/dev/null || missing+=(chromium); fi
[ ${#missing[@]} -eq 0 ] && exit 0
# As root, or through passwordless sudo.
if [ "$(id -u)" -eq 0 ]; then as_root=(); elif sudo -n true 2>/dev/null; then as_root=(sudo -n); else as_root=(none); fi
if [ "${as_root[*]}" = none ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: missing ${missing[*]}; install them with your package manager (Debian: apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "system-deps: installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
