#!/usr/bin/env bash
# test-image.sh — build the local test image (lineage-busybox:latest) from Debian's
# busybox-static with `docker import`; no registry pull. A no-op when the image exists.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

if $DOCKER image inspect "$TEST_IMAGE" >/dev/null 2>&1; then
	log "image $TEST_IMAGE: present"; exit 0
fi
[ -x /bin/busybox ] || die "/bin/busybox missing: install busybox-static (scripts/setup.sh)"
file_out=$(ldd /bin/busybox 2>&1 || true)
case "$file_out" in *"not a dynamic"*|*"statically linked"*) ;; *) die "/bin/busybox is not static: $file_out" ;; esac
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,root}
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
echo 'lineage test image' >"$root/etc/motd"
chmod 1777 "$root/tmp"
tar -C "$root" -c . | $DOCKER import -c 'CMD ["/bin/sh"]' - "$TEST_IMAGE" >/dev/null \
	|| die "docker import of $TEST_IMAGE failed"
log "image $TEST_IMAGE: built"
