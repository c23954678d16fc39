#!/usr/bin/env bash
# Debian packages the tests use beyond Node and Java: curl (scripts), Chromium (the /docs test
# renders Swagger UI in it; playwright-core downloads no browser here) and prometheus for its promtool
# (tools/deploy-check/alerts.test.ts checks and unit-tests the alert rules). Installed only when missing.
set -euo pipefail
missing=()
command -v curl >/dev/null || missing+=(curl)
# CHROMIUM_PATH may name another Chromium or Chrome instead (e2e/openapi.test.ts uses it).
if [ -n "${CHROMIUM_PATH:-}" ]; then [ -x "$CHROMIUM_PATH" ] || { echo "system-deps: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable" >&2; exit 1; }
else command -v chromium >/dev/null || missing+=(chromium); fi
command -v promtool >/dev/null || missing+=(prometheus)
[ ${#missing[@]} -eq 0 ] && exit 0
# As root, or through passwordless sudo.
if [ "$(id -u)" -eq 0 ]; then as_root=(); elif sudo -n true 2>/dev/null; then as_root=(sudo -n); else as_root=(none); fi
if [ "${as_root[*]}" = none ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: missing ${missing[*]}; install them with your package manager (Debian: apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "system-deps: installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
# We want promtool, not a Prometheus server: the package's postinst starts one (and fails the install
# when port 9090 is taken, e.g. by compose's Prometheus). A policy-rc.d that forbids every action keeps
# invoke-rc.d and deb-systemd-invoke from starting services during the install, as in Docker images.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  trap '"${as_root[@]}" rm -f "$policy"' EXIT
  printf '#!/bin/sh\n# Temporary, from orderflow scripts/system-deps.sh: start no service while installing.\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
  "${as_root[@]}" chmod 755 "$policy"
fi
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The package also enables its service for the next boot; only promtool is wanted.
if [[ " ${missing[*]} " == *" prometheus "* ]]; then
  if [ -d /run/systemd/system ]; then "${as_root[@]}" systemctl disable --quiet prometheus.service 2>/dev/null || true
  else "${as_root[@]}" update-rc.d prometheus disable >/dev/null 2>&1 || true; fi
fi
