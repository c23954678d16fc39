#!/usr/bin/env bash
# Generates TypeScript from proto/ into libs/proto/src/gen/ (never committed, never hand-edited).
# Idempotent: the output directory is rebuilt from scratch on every run. buf ships its binary in
# the @bufbuild/buf npm package and ts-proto runs from node_modules, so nothing is downloaded.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

buf=node_modules/.bin/buf
if [[ ! -x "$buf" || ! -x node_modules/.bin/protoc-gen-ts_proto ]]; then
  echo "proto: buf or ts-proto missing from node_modules; run \`npm ci\` (make install) first" >&2
  exit 1
fi

rm -rf libs/proto/src/gen
"$buf" generate
echo "proto: generated $(find libs/proto/src/gen -name '*.ts' | wc -l) files in libs/proto/src/gen" >&2
