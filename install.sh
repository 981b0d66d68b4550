#!/bin/sh
# summarybot installer: curl -fsSL https://github.com/summarybot/summarybot/releases/latest/download/install.sh | sh
#
# Downloads the static release for this machine, verifies its SHA-256 (and its zipsign signature
# when `zipsign` and a public key are available), installs /usr/local/bin/summarybot, creates the
# `summarybot` system user, /etc/summarybot/config.toml (never overwritten) and /var/lib/summarybot,
# installs the systemd unit, and starts the service when systemd is present and the configuration
# is complete. Re-running upgrades in place.
#
# Options (each also settable through the environment variable shown):
#   --version X       release to install, e.g. 1.2.3 (SUMMARYBOT_VERSION, default: latest)
#   --base-url URL    releases URL for mirrors/tests (SUMMARYBOT_BASE_URL,
#                     default: https://github.com/summarybot/summarybot/releases). A mirror
#                     copies GitHub's layout: URL/latest/download/ASSET for the latest release,
#                     URL/download/vX/ASSET for --version X, where ASSET is
#                     summarybot-TRIPLE.tar.gz and its .sha256 (the signature is inside the archive).
#   --root DIR        install under DIR instead of / (SUMMARYBOT_ROOT). With a root other than /,
#                     no user is created and systemctl is not run: files only (for tests, images).
#   --prefix DIR      binary goes to DIR/bin (SUMMARYBOT_PREFIX, default: /usr/local)
#   --target TRIPLE   release target instead of the detected one (SUMMARYBOT_TARGET)
#   --pubkey FILE     zipsign public key to verify the archive signature with (SUMMARYBOT_PUBKEY)
#   --no-start        install but do not enable/start the service
#   --dry-run         print the plan, change nothing
#   --uninstall       remove the binary and the unit; keep config and data
#   --purge           with --uninstall: also remove config, data and the system user
set -eu

REPO_URL="https://github.com/summarybot/summarybot/releases"
VERSION="${SUMMARYBOT_VERSION:-latest}"
BASE_URL="${SUMMARYBOT_BASE_URL:-$REPO_URL}"
ROOT="${SUMMARYBOT_ROOT:-/}"
PREFIX="${SUMMARYBOT_PREFIX:-/usr/local}"
TARGET="${SUMMARYBOT_TARGET:-}"
PUBKEY="${SUMMARYBOT_PUBKEY:-}"
DRY_RUN=0
ACTION=install
PURGE=0
START=1
SUDO=""
TMP=""

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
	if [ -f "$0" ] && head -n 2 "$0" | grep -q 'summarybot installer'; then
		# The comment block at the top, up to the first line that is not a comment.
		awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
	else
		say "usage: install.sh [--version X] [--base-url URL] [--root DIR] [--prefix DIR]"
		say "                  [--target TRIPLE] [--pubkey FILE] [--no-start] [--dry-run]"
		say "                  [--uninstall] [--purge]"
	fi
	exit 0
}

# Run a command (through sudo when needed), or only print it with --dry-run.
run() {
	if [ "$DRY_RUN" = 1 ]; then
		say "  would run: $*"
	else
		$SUDO "$@"
	fi
}

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--version) [ $# -ge 2 ] || die "--version needs a value"; VERSION="$2"; shift ;;
		--base-url) [ $# -ge 2 ] || die "--base-url needs a value"; BASE_URL="$2"; shift ;;
		--root) [ $# -ge 2 ] || die "--root needs a value"; ROOT="$2"; shift ;;
		--prefix) [ $# -ge 2 ] || die "--prefix needs a value"; PREFIX="$2"; shift ;;
		--target) [ $# -ge 2 ] || die "--target needs a value"; TARGET="$2"; shift ;;
		--pubkey) [ $# -ge 2 ] || die "--pubkey needs a value"; PUBKEY="$2"; shift ;;
		--no-start) START=0 ;;
		--dry-run) DRY_RUN=1 ;;
		--uninstall) ACTION=uninstall ;;
		--purge) ACTION=uninstall; PURGE=1 ;;
		-h | --help) usage ;;
		*) die "unknown option '$1' (see --help)" ;;
		esac
		shift
	done
	VERSION="${VERSION#v}"
	BASE_URL="${BASE_URL%/}"
}

# Paths under the destination root.
set_paths() {
	case "$ROOT" in
	/) R="" ;;
	/*) R="${ROOT%/}" ;;
	*) die "--root must be an absolute path, got '$ROOT'" ;;
	esac
	BIN="$R$PREFIX/bin/summarybot"
	CONF_DIR="$R/etc/summarybot"
	CONF="$CONF_DIR/config.toml"
	DATA="$R/var/lib/summarybot"
	UNIT="$R/etc/systemd/system/summarybot.service"
	SYSUSERS="$R/usr/lib/sysusers.d/summarybot.conf"
	TMPFILES="$R/usr/lib/tmpfiles.d/summarybot.conf"
}

# True when installing onto the running system (not into a --root directory).
real_root() { [ -z "$R" ]; }

has_systemd() { real_root && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

# Writing to the real / needs root: use sudo when available.
need_privileges() {
	real_root || return 0
	[ "$(id -u)" = 0 ] && return 0
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
		say "Using sudo for system changes."
	else
		die "installing to / needs root: run as root, or install sudo, or use --root DIR"
	fi
}

detect_target() {
	[ -n "$TARGET" ] && return 0
	os="$(uname -s)"
	[ "$os" = Linux ] || die "unsupported OS '$os': summarybot releases are built for Linux only"
	arch="$(uname -m)"
	case "$arch" in
	x86_64 | amd64) TARGET="x86_64-unknown-linux-musl" ;;
	aarch64 | arm64) TARGET="aarch64-unknown-linux-musl" ;;
	armv7l | armv7*) TARGET="armv7-unknown-linux-musleabihf" ;;
	armv6l) die "armv6 (Raspberry Pi 1 / Zero W) is not supported: use a Pi Zero 2 W, 3, 4 or 5" ;;
	*) die "unsupported CPU architecture '$arch' (supported: x86_64, aarch64, armv7l)" ;;
	esac
}

download() { # url dest
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL --retry 2 -o "$2" "$1" || die "download failed: $1"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -O "$2" "$1" || die "download failed: $1"
	else
		die "neither curl nor wget is installed"
	fi
}

sha256_of() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d ' ' -f 1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d ' ' -f 1
	else
		die "no sha256sum or shasum to verify the download with"
	fi
}

release_url() { # asset name
	if [ "$VERSION" = latest ]; then
		printf '%s/latest/download/%s' "$BASE_URL" "$1"
	else
		printf '%s/download/v%s/%s' "$BASE_URL" "$VERSION" "$1"
	fi
}

cleanup() { [ -n "$TMP" ] && rm -rf "$TMP"; }

fetch_and_verify() {
	ASSET="summarybot-$TARGET.tar.gz"
	TMP="$(mktemp -d)"
	trap cleanup EXIT INT TERM
	say "Downloading $(release_url "$ASSET")"
	download "$(release_url "$ASSET")" "$TMP/$ASSET"
	download "$(release_url "$ASSET.sha256")" "$TMP/$ASSET.sha256"
	expected="$(cut -d ' ' -f 1 <"$TMP/$ASSET.sha256")"
	actual="$(sha256_of "$TMP/$ASSET")"
	[ "$expected" = "$actual" ] || die "checksum mismatch for $ASSET (expected $expected, got $actual): nothing was installed"
	say "Checksum OK ($actual)"
	verify_signature
	mkdir "$TMP/x"
	tar -xzf "$TMP/$ASSET" -C "$TMP/x" || die "cannot unpack $ASSET"
	[ -f "$TMP/x/summarybot" ] || die "$ASSET does not contain a summarybot binary"
}

verify_signature() {
	if [ -n "$PUBKEY" ] && command -v zipsign >/dev/null 2>&1; then
		zipsign verify tar "$TMP/$ASSET" "$PUBKEY" >/dev/null || die "signature check failed for $ASSET: nothing was installed"
		say "Signature OK"
	else
		say "Signature not checked (needs zipsign and --pubkey); \`summarybot update\` always checks it."
	fi
}

install_files() {
	if [ -x "$BIN" ]; then
		say "Upgrading $BIN ($("$BIN" --version 2>/dev/null || echo unknown version))"
	else
		say "Installing $BIN"
	fi
	run mkdir -p "$(dirname "$BIN")"
	# Copy next to the target, then rename: a running service keeps its old inode.
	run install -m 0755 "$TMP/x/summarybot" "$BIN.new"
	run mv -f "$BIN.new" "$BIN"
	if [ -f "$TMP/x/summarybot.service" ]; then
		run mkdir -p "$(dirname "$UNIT")" "$(dirname "$SYSUSERS")" "$(dirname "$TMPFILES")"
		sed "s#/usr/local/bin/summarybot#$PREFIX/bin/summarybot#" "$TMP/x/summarybot.service" >"$TMP/unit"
		run install -m 0644 "$TMP/unit" "$UNIT"
		[ -f "$TMP/x/summarybot.sysusers" ] && run install -m 0644 "$TMP/x/summarybot.sysusers" "$SYSUSERS"
		[ -f "$TMP/x/summarybot.tmpfiles" ] && run install -m 0644 "$TMP/x/summarybot.tmpfiles" "$TMPFILES"
	fi
	return 0
}

create_user_and_dirs() {
	if real_root; then
		if ! id summarybot >/dev/null 2>&1; then
			if command -v useradd >/dev/null 2>&1; then
				run useradd --system --home-dir /var/lib/summarybot --no-create-home \
					--shell /usr/sbin/nologin summarybot
			else
				run adduser -S -D -H -h /var/lib/summarybot -s /sbin/nologin summarybot
			fi
		fi
	else
		say "Skipping system user creation (--root $ROOT is not the running system)"
	fi
	run mkdir -p "$CONF_DIR" "$DATA"
	run chmod 0750 "$CONF_DIR" "$DATA"
	if real_root; then
		run chown root:summarybot "$CONF_DIR"
		run chown summarybot:summarybot "$DATA"
	fi
}

write_config() {
	if [ -f "$CONF" ]; then
		say "Keeping existing $CONF"
		return 0
	fi
	run "$BIN" config init "$CONF"
	run chmod 0640 "$CONF"
	if real_root; then run chown root:summarybot "$CONF"; fi
}

# Start when systemd is there and the config validates; otherwise say exactly what to do.
maybe_start() {
	if [ "$DRY_RUN" = 1 ]; then
		say "  would check $CONF and start the service if it is complete"
		return 0
	fi
	if problems="$($SUDO "$BIN" --config "$CONF" config check 2>&1)"; then
		complete=1
	else
		complete=0
	fi
	if has_systemd; then
		run systemctl daemon-reload
		if [ "$complete" = 1 ] && [ "$START" = 1 ]; then
			run systemctl enable summarybot.service
			run systemctl restart summarybot.service
			say "summarybot is running: journalctl -u summarybot -f"
			return 0
		fi
	fi
	if [ "$complete" = 0 ]; then
		say ""
		say "The configuration is not complete yet. Fill in, in $CONF:"
		printf '%s\n' "$problems" | sed -n 's/^  - /  - /p'
		say "Then check it with: summarybot --config $CONF config check"
	fi
	if has_systemd; then
		say "Start the service with: sudo systemctl enable --now summarybot"
	elif real_root; then
		say "No systemd here: run it with: summarybot --config $CONF run"
	else
		say "Installed into $ROOT (systemctl not run for a --root install)."
	fi
}

do_install() {
	detect_target
	need_privileges
	say "summarybot installer: version $VERSION, target $TARGET, into ${ROOT}"
	case "$TARGET" in
	armv7*) say "Note: the 32-bit ARM (armv7) build is published but untested: the project runs only its x86_64 and aarch64 builds (aarch64 under emulation). A 64-bit OS on the Pi gets the aarch64 build." ;;
	esac
	if [ "$DRY_RUN" = 1 ]; then
		say "Plan:"
		say "  download $(release_url "summarybot-$TARGET.tar.gz") and its .sha256, verify"
		say "  install $BIN, $UNIT, $SYSUSERS, $TMPFILES"
		if real_root; then
			say "  create user summarybot, $CONF_DIR, $DATA"
		else
			say "  create $CONF_DIR, $DATA (no user: --root $ROOT is not the running system)"
		fi
		if [ -f "$CONF" ]; then say "  keep existing $CONF"; else say "  write $CONF (summarybot config init)"; fi
		if ! real_root; then
			say "  not start anything (systemctl is not run for a --root install)"
		elif [ "$START" = 0 ]; then
			say "  not start the service (--no-start)"
		else
			say "  start summarybot.service when systemd is present and the config is complete"
		fi
		return 0
	fi
	fetch_and_verify
	install_files
	create_user_and_dirs
	write_config
	maybe_start
}

do_uninstall() {
	need_privileges
	if has_systemd && [ -f "$UNIT" ]; then
		run systemctl disable --now summarybot.service || true
	fi
	for f in "$BIN" "$UNIT" "$SYSUSERS" "$TMPFILES"; do
		if [ -e "$f" ]; then run rm -f "$f"; fi
	done
	if has_systemd; then run systemctl daemon-reload; fi
	say "Removed the summarybot binary and unit."
	if [ "$PURGE" = 1 ]; then
		run rm -rf "$CONF_DIR" "$DATA"
		if real_root && id summarybot >/dev/null 2>&1; then run userdel summarybot || true; fi
		say "Purged $CONF_DIR and $DATA."
	else
		say "Kept $CONF_DIR and $DATA (use --purge to remove them)."
	fi
}

main() {
	parse_args "$@"
	set_paths
	case "$ACTION" in
	install) do_install ;;
	uninstall) do_uninstall ;;
	esac
}

main "$@"
