#!/bin/bash
# The .deb: builds it with cpack, installs it with dpkg into a fresh root (its own
# dpkg database), runs `tcpxi --version` from it, removes it and checks that nothing
# is left but dpkg's database. Usage: deb_test.sh BUILD_DIR
set -euo pipefail
build=$1
tmp=$(mktemp -d /tmp/tcpxi-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

(cd "$build" && cpack -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log"; exit 1; }
deb=$(ls "$tmp"/out/tcpxi_*.deb)
dpkg-deb --field "$deb" Package Depends

root=$tmp/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
# The fresh root has no dpkg database of its own libraries: dependencies are the host's.
dpkg --root="$root" --force-depends --force-script-chrootless -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; exit 1; }
for f in usr/sbin/tcpxi usr/lib/systemd/system/tcpxi.service usr/share/man/man8/tcpxi.8 \
	usr/share/man/man5/tcpxi.toml.5 usr/share/doc/tcpxi/tcpxi.toml.example \
	usr/share/bash-completion/completions/tcpxi; do
	[ -e "$root/$f" ] || { echo "missing in the package: /$f"; exit 1; }
done
version=$("$root/usr/sbin/tcpxi" --version)
echo "installed: $version"
[[ $version == tcpxi\ * ]]
grep -q '^ExecStart=/usr/sbin/tcpxi daemon' "$root/usr/lib/systemd/system/tcpxi.service"

dpkg --root="$root" --force-depends --force-script-chrootless --purge tcpxi >>"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; exit 1; }
left=$(cd "$root" && find . -mindepth 1 -not -path './var' -not -path './var/lib' -not -path './var/lib/dpkg' -not -path './var/lib/dpkg/*')
if [ -n "$left" ]; then
	echo "left behind after dpkg --purge:"; echo "$left"; exit 1
fi
echo "removed without leftovers"
