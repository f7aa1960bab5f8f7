#!/usr/bin/env bash
# Everything the coach needs on a fresh machine: system packages, a virtualenv with the package and its test
# tools, and verified models. Safe to run again: finished steps are skipped.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

say() { printf '==> %s\n' "$*" >&2; }

# System packages: espeak-ng voices the benchmark's built-in corpus and the tests' speech.
if ! command -v espeak-ng >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else sudo="missing"; fi
  if [ "$sudo" = missing ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: espeak-ng is missing: install it with your package manager (e.g. apt-get install espeak-ng)" >&2
    exit 1
  fi
  say "installing espeak-ng"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq espeak-ng >/dev/null
fi

py="${PYTHON:-}"
if [ -z "$py" ]; then
  for cand in python3.13 python3.12 python3.11 python3.10 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
      py="$cand"; break
    fi
  done
fi
if [ -z "$py" ]; then
  echo "error: Python 3.10 or newer is needed: install it, or point PYTHON at one" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $("$py" --version)"
  "$py" -m venv .venv
fi

# llama-cpp-python has no wheel on PyPI: pip builds it once (about 17 minutes on 2 cores) and caches the wheel.
# GGML_NATIVE=OFF keeps the build portable (AVX2, no -march=native).
say "installing the coach and its dependencies into .venv"
CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" .venv/bin/python -m pip install --progress-bar off -e '.[test]'

say "installing models"
scripts/setup_models.sh
say "ready: .venv/bin/coach --help"
