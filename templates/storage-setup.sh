#!/bin/bash
# remaster storage setup (rendered from templates/storage-setup.sh). A live system's root is overlayfs, and
# neither docker's overlay2 nor podman's overlay driver can keep their store on overlayfs. On such a root,
# give each store directory its own tmpfs before the engine starts. An installed system (ext4...) is left alone.
set -u
fstype=$(findmnt -n -o FSTYPE /)
case "$fstype" in
overlay | aufs) ;;
*)
	echo "root is $fstype: engine storage needs nothing"
	exit 0
	;;
esac
for dir in @@STORE_DIRS@@; do
	mkdir -p "$dir"
	if mountpoint -q "$dir"; then
		echo "$dir is already a mount point ($(findmnt -n -o FSTYPE "$dir"))"
		continue
	fi
	mount -t tmpfs -o mode=0711,size=@@TMPFS_SIZE@@ remaster-store "$dir"
	echo "live root ($fstype): $dir is now a tmpfs (size @@TMPFS_SIZE@@)"
done
