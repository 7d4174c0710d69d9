#!/usr/bin/env bash
# Makes sure a Python environment of the tests exists and is current;
# prints its path. tests/venv.sh [SUITE]:
#   e2e (the default)  build/venv-e2e, pinned by tests/e2e/requirements.txt;
#                      shared by the static checks and the end-to-end run
#   openfisca          build/venv-openfisca, pinned by
#                      tests/openfisca/requirements.txt (the bourse
#                      cross-check; openfisca-core pins an older pytest)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
suite=${1:-e2e}
case "$suite" in
e2e | openfisca) ;;
*)
    printf 'usage: %s [e2e|openfisca]\n' "$0" >&2
    exit 2
    ;;
esac
venv="$repo/build/venv-$suite"
requirements="$repo/tests/$suite/requirements.txt"

if [[ ! -x "$venv/bin/python" ]]; then
    printf 'venv: creating %s\n' "$venv" >&2
    python3 -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    printf 'venv: installing Python dependencies\n' >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$want" >"$stamp"
fi
printf '%s\n' "$venv"
