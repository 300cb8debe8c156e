#!/bin/bash
# remaster storage setup (rendered from templates/storage-setup.sh). A live system's root is overlayfs, and
# neither docker's overlay2 nor podman's overlay driver can keep their store on overlayfs. On such a root,
# each store directory gets its own place before the engine starts: folders on the store device when one is
# configured and present (images loaded once survive reboots, and so does the loader's state), else a tmpfs.
# An installed system (ext4...) is left alone: its store already persists.
set -u
STORE_DEVICE='@@STORE_DEVICE@@'
PERSIST=@@PERSIST_DIR@@
STATE=@@STATE_DIR@@
WAIT_SECONDS=${REMASTER_STORE_WAIT:-20} # the override exists for tests

fstype=$(findmnt -n -o FSTYPE /)
case "$fstype" in
overlay | aufs) ;;
*)
	echo "root is $fstype: engine storage needs nothing"
	exit 0
	;;
esac

# The store device's node, waiting for disks still being probed; empty when it never shows up.
find_device() {
	local _
	for _ in $(seq 1 "$WAIT_SECONDS"); do
		case "$STORE_DEVICE" in
		/dev/*) [ -b "$STORE_DEVICE" ] && {
			echo "$STORE_DEVICE"
			return
		} ;;
		*) findfs "$STORE_DEVICE" 2>/dev/null && return ;;
		esac
		sleep 1
	done
}

persist_on_device() {
	local device=$1 fs dir src
	mkdir -p "$PERSIST"
	if ! mountpoint -q "$PERSIST"; then
		if ! out=$(mount -o noatime "$device" "$PERSIST" 2>&1); then
			echo "<3>store device $STORE_DEVICE ($device) could not be mounted: $out; falling back to a tmpfs (make it with mkfs.ext4 -L <label>)"
			return 1
		fi
	fi
	fs=$(findmnt -n -o FSTYPE "$PERSIST")
	case "$fs" in
	ext2 | ext3 | ext4 | xfs | btrfs | f2fs) ;;
	*)
		echo "<3>store device $STORE_DEVICE ($device) holds $fs, which the engine cannot keep its store on; falling back to a tmpfs (use ext4 or xfs)"
		umount "$PERSIST"
		return 1
		;;
	esac
	for dir in @@STORE_DIRS@@ "$STATE"; do
		src="$PERSIST/${dir#/}"
		mkdir -p "$src" "$dir"
		mountpoint -q "$dir" || mount --bind "$src" "$dir"
	done
	echo "live root ($fstype): engine store and loader state on $STORE_DEVICE ($device, $fs), kept across boots"
}

if [ -n "$STORE_DEVICE" ]; then
	device=$(find_device)
	if [ -z "$device" ]; then
		echo "<4>store device $STORE_DEVICE not found within $WAIT_SECONDS s: the engine store is a tmpfs, images are loaded again at every boot"
	elif persist_on_device "$device"; then
		exit 0
	fi
fi

for dir in @@STORE_DIRS@@; do
	mkdir -p "$dir"
	if mountpoint -q "$dir"; then
		echo "$dir is already a mount point ($(findmnt -n -o FSTYPE "$dir"))"
		continue
	fi
	mount -t tmpfs -o mode=0711,size=@@TMPFS_SIZE@@ remaster-store "$dir"
	echo "live root ($fstype): $dir is now a tmpfs (size @@TMPFS_SIZE@@)"
done
