#!/usr/bin/env bash
# Installs the locked npm dependencies. `npm ci` is tried first; this machine's registry serves only
# Linux builds of packages' optional platform binaries (swc, buf, esbuild), which makes `npm ci`
# refuse the lock file. Then `npm install` installs from the same lock, and we check that it left
# the lock untouched, so the result is just as reproducible.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
if npm ci --no-audit --no-fund 2>var/npm-ci.log; then exit 0; fi
if ! grep -q "Missing: .* from lock file" var/npm-ci.log; then cat var/npm-ci.log >&2; exit 1; fi
echo "install: npm ci refused the lock (other platforms' optional binaries are not on this registry); installing from the lock with npm install"
cp package-lock.json var/package-lock.before
npm install --no-audit --no-fund
if ! cmp -s package-lock.json var/package-lock.before; then
  echo "install: npm install changed package-lock.json; commit the lock file that matches package.json" >&2
  exit 1
fi
