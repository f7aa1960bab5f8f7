#!/usr/bin/env bash
# Everything the coach needs on a fresh machine: system packages, a virtualenv with the package and its test
# tools, and verified models. Safe to run again: finished steps are skipped.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

say() { printf '==> %s\n' "$*" >&2; }

# System packages: espeak-ng voices the benchmark's built-in corpus and the tests' speech; Chromium runs the page
# tests (headless); npm fetches livekit-client, which our server hands to browsers (no CDN at run time).
need=()
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else sudo="missing"; fi
  if [ "$sudo" = missing ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing ${need[*]}: install them with your package manager (e.g. apt-get install ${need[*]})" >&2
    exit 1
  fi
  say "installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
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

say "installing livekit-client for the pages"
npm ci --prefix web --no-audit --no-fund --loglevel=error

say "installing models"
scripts/setup_models.sh

# livekit-server (for coach serve) comes from GitHub, which not every network reaches: without it everything
# but live sessions works, and the script says how to install it by hand.
say "installing livekit-server"
scripts/setup_livekit.sh || status=$?
case "${status:-0}" in
  0) ;;
  2) say "livekit-server not installed (no network to GitHub): coach serve needs it; see the message above" ;;
  *) exit "$status" ;;
esac
say "ready: .venv/bin/coach --help"
