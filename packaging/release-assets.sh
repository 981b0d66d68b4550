#!/usr/bin/env bash
# Build the release assets, the same way for the release workflow and for CI's tests:
#
#   packaging/release-assets.sh [options] OUTDIR TARGET...
#
# For each TARGET (e.g. x86_64-unknown-linux-musl, aarch64-unknown-linux-musl) it builds
# `summarybot` (`CARGO build --profile PROFILE --locked --target TARGET --bin summarybot`), packs
# summarybot-TARGET.tar.gz with the binary and the systemd files at the archive root (self-update
# extracts `summarybot`), embeds a zipsign signature bound to the file name (`zipsign sign tar`,
# what `summarybot update` checks), and writes summarybot-TARGET.tar.gz.sha256 over the signed
# archive (what install.sh checks). Last it writes OUTDIR/SHA256SUMS over every archive in OUTDIR.
#
# Options:
#   --profile NAME   cargo profile (default: dist, the size-tuned release profile)
#   --key FILE       zipsign private key (`zipsign gen-key priv.key pub.key`); required
#   --cargo CMD      build command: cargo (default) or cross
#   --sums-only      build nothing: only (re)write OUTDIR/SHA256SUMS
#
# Cross-building with cargo needs the target's linker and C compiler in the environment, e.g.
# CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld and
# CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc (see .ci/assets); cross brings its own.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

die() {
  echo "release-assets.sh: $*" >&2
  exit 2
}

profile=dist
key=""
cargo_cmd=cargo
sums_only=false
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) [ $# -ge 2 ] || die "--profile needs a name"; profile=$2; shift 2 ;;
    --key) [ $# -ge 2 ] || die "--key needs a file"; key=$2; shift 2 ;;
    --cargo) [ $# -ge 2 ] || die "--cargo needs a command (cargo or cross)"; cargo_cmd=$2; shift 2 ;;
    --sums-only) sums_only=true; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || die "missing OUTDIR (usage: release-assets.sh [options] OUTDIR TARGET...)"
outdir=$1
shift
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

# SHA256SUMS over every archive in OUTDIR, in `sha256sum -c` format.
write_sums() {
  (
    cd "$outdir"
    shopt -s nullglob
    archives=(summarybot-*.tar.gz)
    [ ${#archives[@]} -gt 0 ] || die "no summarybot-*.tar.gz in $outdir"
    sha256sum "${archives[@]}" >SHA256SUMS
  )
}

if $sums_only; then
  write_sums
  exit 0
fi

[ $# -ge 1 ] || die "missing TARGET (e.g. x86_64-unknown-linux-musl)"
[ -n "$key" ] || die "--key FILE is required: the zipsign private key that signs the archives"
[ -f "$key" ] || die "zipsign key '$key' not found"
command -v zipsign >/dev/null 2>&1 || die "zipsign not found: cargo install zipsign --locked"
command -v "$cargo_cmd" >/dev/null 2>&1 || die "build command '$cargo_cmd' not found"

# One build for every target: cargo overlaps one target's long single-threaded link (fat LTO)
# with the other's compilation.
target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -n "$target_dir" ] || die "cannot find cargo's target directory"
target_args=()
for target in "$@"; do target_args+=(--target "$target"); done
echo "== $cargo_cmd build --profile $profile --locked ${target_args[*]} --bin summarybot"
start=$(date +%s)
(cd "$repo" && "$cargo_cmd" build --profile "$profile" --locked "${target_args[@]}" --bin summarybot)
echo "== built in $(($(date +%s) - start)) s"

for target in "$@"; do
  bin="$target_dir/$target/$profile/summarybot"
  [ -x "$bin" ] || die "the build left no binary at $bin"

  asset="summarybot-$target.tar.gz"
  stage=$(mktemp -d)
  install -m 0755 "$bin" "$stage/summarybot"
  install -m 0644 "$repo/packaging/summarybot.service" "$repo/packaging/summarybot.sysusers" \
    "$repo/packaging/summarybot.tmpfiles" "$stage/"
  tar -czf "$outdir/$asset" -C "$stage" \
    summarybot summarybot.service summarybot.sysusers summarybot.tmpfiles
  rm -rf "$stage"
  (
    cd "$outdir"
    zipsign sign tar "$asset" "$key" # the context defaults to the file name
    chmod 0644 "$asset"                # zipsign writes it owner-only
    sha256sum "$asset" >"$asset.sha256"
  )
  echo "== $outdir/$asset (binary: $(stat -c %s "$bin") bytes)"
done
write_sums
