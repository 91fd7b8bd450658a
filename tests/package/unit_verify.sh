#!/bin/bash
# systemd-analyze verify on tcpxi.service, with ExecStart pointing at the built binary
# and the man pages it names found in the source tree. Usage: unit_verify.sh SRC BINARY
set -euo pipefail
src=$1 binary=$2
tmp=$(mktemp -d /tmp/tcpxi-unit.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
mkdir -p "$tmp/man/man8" "$tmp/man/man5"
cp "$src/docs/man/tcpxi.8" "$tmp/man/man8/"
cp "$src/docs/man/tcpxi.toml.5" "$tmp/man/man5/"
sed "s#@TCPXI_SBINDIR@/tcpxi#$binary#" "$src/scripts/tcpxi.service.in" >"$tmp/tcpxi.service"
out=$(MANPATH="$tmp/man" systemd-analyze verify "$tmp/tcpxi.service" 2>&1) || { echo "$out"; exit 1; }
# verify exits 0 on some warnings: none are acceptable.
if [ -n "$out" ]; then echo "$out"; exit 1; fi
echo "systemd-analyze verify: clean"
