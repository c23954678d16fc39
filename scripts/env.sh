# Sourced by the make scripts: dev defaults from .env.example, then local overrides from .env, then
# whatever the caller exported (an exported variable always wins).
_of_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_of_saved="$(export -p)"
set -a
. "$_of_root/.env.example"
[ -f "$_of_root/.env" ] && . "$_of_root/.env"
set +a
eval "$_of_saved"
unset _of_saved
