#!/bin/bash
# remaster docker ready store (rendered from templates/docker-ready-store.sh). remaster filled docker's data root at
# build time with the dockerd this root ships, and put it on the medium as an ext4 image inside a squashfs. Here it
# becomes @@DATA_ROOT@@ before docker starts, with nothing copied: a device-mapper snapshot reads the image from the
# medium and keeps every change in its exception store, a file on the store device when one is mounted at
# @@PERSIST_DIR@@ (changes kept across boots), else in a tmpfs (changes gone at shutdown). The file system is then
# grown online to the room the exception store has, so containers can write as much as it holds.
# On an installed system the installer copied the ext4 image to the disk (@@INSTALLED_IMAGE@@): that file is docker's
# data root from then on, mounted read-write through a loop device, grown once to the disk's free room (a sparse file:
# it takes disk space only as docker writes, and gives it back when docker deletes, through discard).
set -euo pipefail
SQUASH=@@STORE_IMAGE@@
STORE=@@STORE_DIR@@
IMAGE=$STORE/@@STORE_FILE@@
DATA=@@DATA_ROOT@@
PERSIST=@@PERSIST_DIR@@
COW_DIR=/run/remaster-ready-store
NAME=remaster-docker-store
INSTALLED=@@INSTALLED_IMAGE@@

# `stop` (the unit's ExecStop, after docker has stopped): take it all down in order, so shutdown finds nothing busy.
if [ "${1:-}" = stop ]; then
	sync
	! mountpoint -q "$DATA" || umount "$DATA"
	for dev in "$NAME" "$NAME-origin"; do
		! dmsetup info "$dev" >/dev/null 2>&1 || dmsetup remove "$dev"
	done
	losetup --list --noheadings --output NAME,BACK-FILE | while read -r loop file; do
		case "$file" in "$IMAGE" | "$INSTALLED" | "$COW_DIR"/* | "$PERSIST"/docker-ready-store-*) losetup --detach "$loop" ;; esac
	done
	! mountpoint -q "$COW_DIR" || umount "$COW_DIR"
	! mountpoint -q "$STORE" || umount "$STORE"
	exit 0
fi

if mountpoint -q "$DATA"; then
	echo "$DATA is already a mount point ($(findmnt -n -o SOURCE,FSTYPE "$DATA")): the ready store is not used"
	exit 0
fi
mkdir -p "$STORE" "$DATA"

if [ -f "$INSTALLED" ]; then
	# Grown once, the first boot: the file system finds its full size again every boot after.
	if [ ! -f "$INSTALLED.grown" ]; then
		size=$(stat -c %s "$INSTALLED")
		room=$(df --output=avail -B1 "$(dirname "$INSTALLED")" | tail -n 1 | tr -d ' ')
		# A sixteenth of the free room stays the disk's own, so the host is never the one that runs out first.
		truncate -s $((size + room - room / 16)) "$INSTALLED"
		echo "$size" >"$INSTALLED.grown"
	fi
	mount -o loop,noatime,discard "$INSTALLED" "$DATA"
	dev=$(findmnt -n -o SOURCE "$DATA")
	resize2fs "$dev" >/dev/null 2>&1 || echo "<4>could not grow $DATA to its file's size: $(resize2fs "$dev" 2>&1 | tail -n 1)"
	echo "docker ready store: $DATA is the store the installer put on this disk ($INSTALLED); $(df -h --output=size,avail "$DATA" | tail -n 1 | awk '{print $1 " size, " $2 " free"}')"
	exit 0
fi
mountpoint -q "$STORE" || mount -t squashfs -o ro,loop "$SQUASH" "$STORE"
origin=$(losetup --find --show --read-only "$IMAGE")
sectors=$(blockdev --getsz "$origin")
id=$(cut -c 1-16 "$IMAGE.sha256")

if mountpoint -q "$PERSIST"; then
	# One exception store per ready store: an ISO with other images starts a new one (the old one stays until removed).
	cow=$PERSIST/docker-ready-store-$id.cow
	persistent=P
	where="the store device ($(findmnt -n -o SOURCE "$PERSIST"))"
else
	mkdir -p "$COW_DIR"
	mountpoint -q "$COW_DIR" || mount -t tmpfs -o mode=0700,size=@@TMPFS_SIZE@@ remaster-ready-store "$COW_DIR"
	cow=$COW_DIR/exceptions
	persistent=N
	where="a tmpfs (size @@TMPFS_SIZE@@)"
fi
# The device's size is fixed the first time (the file system is grown to it and must find it again next boot).
if [ ! -f "$cow" ]; then
	room=$(df --output=avail -B512 "$(dirname "$cow")" | tail -n 1 | tr -d ' ')
	# The exception store takes a little room of its own: leave a sixteenth of it to the metadata.
	grow=$((room - room / 16))
	truncate -s $((room * 512)) "$cow"
	echo "$grow" >"$cow.grow"
fi
grow=$(cat "$cow.grow")
cowdev=$(losetup --find --show "$cow")

# The origin: the image, then zeroes up to the grown size (read-only: nothing ever writes to the medium).
printf '0 %s linear %s 0\n%s %s zero\n' "$sectors" "$origin" "$sectors" "$grow" | dmsetup create --readonly "$NAME-origin"
dmsetup create "$NAME" --table "0 $((sectors + grow)) snapshot /dev/mapper/$NAME-origin $cowdev $persistent 16"
mount -o noatime "/dev/mapper/$NAME" "$DATA"
resize2fs "/dev/mapper/$NAME" >/dev/null 2>&1 || echo "<4>could not grow $DATA beyond the store's own size: $(resize2fs "/dev/mapper/$NAME" 2>&1 | tail -n 1)"
echo "docker ready store: $DATA is the store from $SQUASH ($((sectors / 2048)) MiB), changes kept in $where; $(df -h --output=size,avail "$DATA" | tail -n 1 | awk '{print $1 " size, " $2 " free"}')"
