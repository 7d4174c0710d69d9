#!/usr/bin/env bash
# Makes sure the Python environment of the tests (build/venv-e2e, pinned by
# tests/e2e/requirements.txt) exists and is current; prints its path.
# Shared by the static checks and the end-to-end run.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$repo/build/venv-e2e"
requirements="$repo/tests/e2e/requirements.txt"

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
