#!/bin/sh
# remaster: copy the added layer into the installed system (rendered from templates/d-i-live-installer.sh).
# d-i's live-installer copies only /live/filesystem.squashfs to /target; right after that copy it runs every file in
# /usr/lib/live-installer.d/, where remaster's initrd segment puts this script. /target then holds the base root, no
# user exists yet and no boot loader is installed: the layer goes on top, and the installer carries on with the root
# the live system boots (users, fstab, GRUB and the live packages' removal all happen after this).
# Runs in d-i's busybox (ash, tar, mount: only commands d-i has; the build's replay runs it with just those on PATH);
# REMASTER_TARGET and REMASTER_CDROM let a host-side test run it too.
set -eu
TARGET=${REMASTER_TARGET:-/target}
CDROM=${REMASTER_CDROM:-/cdrom}
LAYER=$CDROM@@LAYER@@
# The ready image store (empty when the images load at first boot instead): `file` copies the squashfs itself
# (podman mounts it read-only), `unpack` the files in it (docker's ext4 image, its data root on the installed disk).
STORE=@@STORE@@
STORE_COPY=@@STORE_COPY@@
STORE_DEST=$TARGET@@STORE_DEST@@
CHANGES=${REMASTER_CHANGES:-/usr/lib/remaster/layer-changes}
LOG=$TARGET/var/log/remaster-install.log

say() {
	echo "remaster: $*"
	logger -t remaster "$*" 2>/dev/null || true
	echo "$*" >>"$LOG" 2>/dev/null || true
}

mkdir -p "$TARGET/var/log"
if [ ! -f "$LAYER" ]; then
	say "ERROR: $LAYER is not on the medium: the installed system gets no container engine and no images"
	exit 1
fi
if [ -n "$STORE" ] && [ ! -f "$CDROM$STORE" ]; then
	say "ERROR: $CDROM$STORE is not on the medium: the installed system gets no images"
	exit 1
fi
MNT=$(mktemp -d /tmp/remaster-layer.XXXXXX)
SMNT=$(mktemp -d /tmp/remaster-store.XXXXXX)
cleanup() {
	umount "$MNT" 2>/dev/null || true
	umount "$SMNT" 2>/dev/null || true
	rmdir "$MNT" "$SMNT" 2>/dev/null || true
}
trap cleanup EXIT
mount -t squashfs -o loop,ro "$LAYER" "$MNT"

# What the layer deletes from the base (overlay whiteouts, opaque folders, folders it turns into files): the copy
# below would otherwise keep them, or fail writing a file over a folder.
while read -r kind path; do
	[ -n "$path" ] || continue
	rm -rf "${TARGET:?}/$path"
done <"$CHANGES"

# As live-installer copies the base: tar, then the extended attributes (file capabilities) with getfattr/setfattr.
(cd "$MNT" && tar -c .) | (cd "$TARGET" && tar -x)
if command -v getfattr >/dev/null 2>&1 && command -v setfattr >/dev/null 2>&1; then
	(cd "$MNT" && getfattr --dump --no-dereference --match=- --recursive . 2>/dev/null) |
		(cd "$TARGET" && setfattr --no-dereference --restore=- 2>/dev/null) || say "warning: some extended attributes were not copied"
fi

# tar copied the whiteouts as character devices: they go again.
while read -r kind path; do
	[ "$kind" = w ] && [ -n "$path" ] && rm -f "${TARGET:?}/$path"
done <"$CHANGES"

# d-i's busybox has no du or stat: count with find and wc, which it has.
entries=$(cd "$MNT" && find . | wc -l)
kib=$(($(wc -c <"$LAYER") / 1024))
say "copied $entries entries ($kib KiB compressed) of $LAYER into $TARGET ($(grep -c . "$CHANGES" || true) deletion(s) first)"

# The ready store: its bytes as the build made them (a file copy, nothing unpacked into the target's own folders, so
# no extended attribute of the store's image layers can be lost on the way).
if [ -n "$STORE" ]; then
	mkdir -p "$STORE_DEST"
	if [ "$STORE_COPY" = unpack ]; then
		mount -t squashfs -o loop,ro "$CDROM$STORE" "$SMNT"
		cp "$SMNT"/* "$STORE_DEST"/
		umount "$SMNT"
	else
		cp "$CDROM$STORE" "$STORE_DEST"/
	fi
	copied=0
	for f in "$STORE_DEST"/*; do copied=$((copied + $(ls -ln "$f" | awk '{print $5}') / 1024)); done
	say "copied the ready image store ($copied KiB) from $CDROM$STORE into $STORE_DEST"
fi
