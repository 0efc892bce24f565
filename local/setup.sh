#!/usr/bin/env bash
# Create (or refresh) a Python venv: the local AWS stack's, or another pinned tool set.
# Usage: local/setup.sh VENV_DIR [REQUIREMENTS_FILE]   (default: local/requirements.txt)
# Idempotent: pip runs only when requirements.txt changed since the last
# successful install (a stamp file in the venv holds the hash).
set -euo pipefail

venv_dir="${1:?usage: $0 VENV_DIR [REQUIREMENTS_FILE]}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
requirements="${2:-$here/requirements.txt}"
stamp="$venv_dir/.vikunja-local-requirements.sha256"

if [[ ! -x "$venv_dir/bin/python" ]]; then
  echo "creating venv $venv_dir" >&2
  python3 -m venv "$venv_dir"
fi

wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  exit 0
fi

echo "installing $requirements into $venv_dir" >&2
"$venv_dir/bin/python" -m pip install --quiet --upgrade pip
"$venv_dir/bin/python" -m pip install --quiet -r "$requirements"
echo "$wanted" > "$stamp"
