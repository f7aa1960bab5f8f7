#!/usr/bin/env bash
# Install livekit-server (the pinned release) into .venv/bin, where `coach serve` finds it. Safe to run again:
# nothing is done when that version is already installed.
#   scripts/setup_livekit.sh                          # download from GitHub
#   scripts/setup_livekit.sh --from FILE              # a release tarball fetched elsewhere, with the release's
#                                                     # checksums.txt beside it
#   scripts/setup_livekit.sh --from FILE --checksums FILE
#   scripts/setup_livekit.sh --force                  # reinstall even when the version is already there
# Before anything is unpacked, the tarball's SHA-256 is checked against the release's checksums.txt, whose entry
# must also match the digest pinned here. Only the livekit-server binary is unpacked, and one rename puts it in
# place: an interrupted run never leaves a half-installed binary.
# LIVEKIT_INSTALL_DIR overrides the target folder (default: .venv/bin of this repository).
# Exit status: 0 installed or already there; 1 error (nothing changed); 2 github.com cannot be reached or the
# download failed (nothing changed; how to install by hand is printed), so callers can carry on without it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

LIVEKIT_VERSION=1.13.5
# SHA-256 of the release tarballs as listed in the release's checksums.txt (cross-check of that file).
PINNED_SHA256_amd64=c020fac437b7cc9b776eef1ad5ea8af77be9acfa07602eca20a3a44930dfbc70
PINNED_SHA256_arm64=332015305518765fe05bad74fc3a9d9583e635e7dd130de3c4fc563d69c550f3
release_url="https://github.com/livekit/livekit/releases/download/v${LIVEKIT_VERSION}"
dest="${LIVEKIT_INSTALL_DIR:-$repo/.venv/bin}"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

from="" checksums="" force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --from) [ $# -ge 2 ] || die "--from needs a file"; from="$2"; shift 2 ;;
    --checksums) [ $# -ge 2 ] || die "--checksums needs a file"; checksums="$2"; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[ -z "$checksums" ] || [ -n "$from" ] || die "--checksums goes with --from"

[ "$(uname -s)" = Linux ] \
  || die "this installs the Linux build only: on $(uname -s), install livekit-server by hand and set LIVEKIT_SERVER_BIN"
case "$(uname -m)" in
  x86_64|amd64) arch=amd64; pinned="$PINNED_SHA256_amd64" ;;
  aarch64|arm64) arch=arm64; pinned="$PINNED_SHA256_arm64" ;;
  *) die "no livekit-server build is set up here for $(uname -m): install it by hand and set LIVEKIT_SERVER_BIN" ;;
esac
asset="livekit_${LIVEKIT_VERSION}_linux_${arch}.tar.gz"

for tool in sha256sum tar; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing: install coreutils/tar"
done

# The version a livekit-server binary reports: `livekit-server version 1.13.5` -> 1.13.5 (empty if it cannot run).
binary_version() {
  { timeout 20 "$1" --version 2>/dev/null || true; } | awk 'NR == 1 { print $NF }'
}

target="$dest/livekit-server"
if [ "$force" = 0 ] && [ -x "$target" ]; then
  installed="$(binary_version "$target")"
  if [ "$installed" = "$LIVEKIT_VERSION" ]; then
    say "livekit-server $LIVEKIT_VERSION is already installed: $target"
    exit 0
  fi
  say "replacing livekit-server ${installed:-of unknown version} at $target with $LIVEKIT_VERSION"
fi

manual_install() {
  cat >&2 <<EOF

To install livekit-server $LIVEKIT_VERSION by hand:
  1. On a machine with internet, download these two files from the release:
       $release_url/$asset
       $release_url/checksums.txt
  2. Copy both into one folder on this machine, then either
       scripts/setup_livekit.sh --from /path/to/$asset
     (verifies the tarball against checksums.txt and installs into $dest), or by hand:
       sha256sum -c --ignore-missing checksums.txt     # must print "$asset: OK"
       tar -xzf $asset livekit-server
     and put that livekit-server on PATH, or set LIVEKIT_SERVER_BIN to its path.
  The release's checksums.txt lists this SHA-256 for $asset:
       $pinned
EOF
}

tmp="$(mktemp -d)"
staged=""
cleanup() { rm -rf "$tmp"; [ -z "$staged" ] || rm -f "$staged"; }
trap cleanup EXIT

if [ -n "$from" ]; then
  [ -f "$from" ] || die "no such file: $from"
  tarball="$from"
  shown="$from"
  if [ -z "$checksums" ]; then
    checksums="$(dirname "$from")/checksums.txt"
    [ -f "$checksums" ] || die "no checksums.txt beside $from, so it cannot be verified: download
  $release_url/checksums.txt
into that folder, or name it with --checksums FILE"
  fi
  [ -f "$checksums" ] || die "no such file: $checksums"
else
  command -v curl >/dev/null 2>&1 || die "curl is missing: install it (e.g. apt-get install curl), or use --from"
  if ! curl -sS -o /dev/null --head --connect-timeout 5 --max-time 5 https://github.com/ 2>"$tmp/curl.err"; then
    printf 'warning: github.com cannot be reached from this machine (%s): livekit-server was not installed.\n' \
      "$(tr -d '\n' <"$tmp/curl.err")" >&2
    manual_install
    exit 2
  fi
  tarball="$tmp/$asset"
  shown="the downloaded $asset"
  checksums="$tmp/checksums.txt"
  fetch() {  # fetch URL FILE [curl options...]
    local url="$1" out="$2"; shift 2
    if ! curl --fail --location --proto '=https' --tlsv1.2 --connect-timeout 15 --max-time 900 --retry 2 \
        "$@" -o "$out" "$url"; then
      printf 'warning: downloading %s failed: livekit-server was not installed.\n' "$url" >&2
      manual_install
      exit 2
    fi
  }
  say "downloading $release_url/checksums.txt"
  fetch "$release_url/checksums.txt" "$checksums" -sS
  say "downloading $release_url/$asset"
  fetch "$release_url/$asset" "$tarball" --progress-bar
fi

# The release's entry for our tarball; it must agree with the pinned digest.
expected="$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1 }' "$checksums")"
case "$expected" in
  "") die "$checksums has no entry for $asset: is it the checksums.txt of release v$LIVEKIT_VERSION?" ;;
  *[!0-9a-f]*) die "$checksums has more than one entry, or an unreadable one, for $asset" ;;
esac
[ "${#expected}" = 64 ] || die "$checksums has an unreadable entry for $asset"
if [ "$expected" != "$pinned" ]; then
  die "$checksums lists $expected for $asset, but this script pins $pinned: refusing to install"
fi

say "verifying SHA-256 of $shown"
if ! printf '%s  %s\n' "$expected" "$tarball" | sha256sum -c --quiet - >&2; then
  die "$shown is not $asset of release v$LIVEKIT_VERSION (SHA-256 mismatch): refusing to install"
fi

mkdir -p "$tmp/unpacked"
tar -xzf "$tarball" -C "$tmp/unpacked" livekit-server 2>"$tmp/tar.err" \
  || die "$asset holds no livekit-server: $(cat "$tmp/tar.err")"
binary="$tmp/unpacked/livekit-server"
if [ ! -f "$binary" ] || [ -L "$binary" ]; then
  die "livekit-server in $asset is not a regular file"
fi
chmod 755 "$binary"
unpacked_version="$(binary_version "$binary")"
[ "$unpacked_version" = "$LIVEKIT_VERSION" ] \
  || die "the unpacked livekit-server reports version '${unpacked_version}', not $LIVEKIT_VERSION"

# Stage beside the target (same filesystem), then one rename puts it in place.
mkdir -p "$dest"
staged="$(mktemp "$dest/.livekit-server.XXXXXX")"
cp "$binary" "$staged"
chmod 755 "$staged"
mv -f "$staged" "$target"
staged=""
say "installed livekit-server $LIVEKIT_VERSION: $target"
