#!/usr/bin/env bash
# Make the container image's build context from the release archives:
#   packaging/image-context.sh ASSETS_DIR CONTEXT_DIR
# ASSETS_DIR holds what packaging/release-assets.sh wrote (or a release's archives and SHA256SUMS).
# Each archive there is verified against SHA256SUMS, then its binary goes to CONTEXT_DIR/amd64 or
# CONTEXT_DIR/arm64 (Docker's TARGETARCH), next to the Dockerfile, the build machine's CA bundle
# (CA_BUNDLE, default /etc/ssl/certs/ca-certificates.crt) and an empty data/ (the /data volume).
set -euo pipefail
die() {
  echo "image-context.sh: $*" >&2
  exit 2
}
[ $# -eq 2 ] || die "usage: image-context.sh ASSETS_DIR CONTEXT_DIR"
assets=$(cd "$1" && pwd) || die "no assets directory '$1'"
context=$2
repo=$(cd "$(dirname "$0")/.." && pwd)
ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[ -s "$ca" ] || die "no CA bundle at $ca (install ca-certificates, or set CA_BUNDLE)"
[ -f "$assets/SHA256SUMS" ] || die "no SHA256SUMS in $assets: run packaging/release-assets.sh first"
(cd "$assets" && sha256sum --quiet --ignore-missing -c SHA256SUMS) || die "an archive in $assets does not match SHA256SUMS"

mkdir -p "$context/data"
cp "$repo/packaging/Dockerfile" "$context/Dockerfile"
cp "$ca" "$context/ca-certificates.crt"
found=0
for pair in amd64:x86_64-unknown-linux-musl arm64:aarch64-unknown-linux-musl; do
  arch=${pair%%:*}
  archive="$assets/summarybot-${pair#*:}.tar.gz"
  [ -f "$archive" ] || continue
  mkdir -p "$context/$arch"
  tar -xzf "$archive" -C "$context/$arch" summarybot
  found=$((found + 1))
  echo "== $context/$arch/summarybot from $(basename "$archive")"
done
[ "$found" -gt 0 ] || die "no x86_64 or aarch64 musl archive in $assets"
