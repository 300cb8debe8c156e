# Live root for remaster's Ubuntu-shaped (casper) fixture ISOs			-*- shell-script -*-
#
# Installed as scripts/casper in the fixture's initrd (src/fixture/casper.ts). initramfs-tools' /init sources it
# when BOOT=casper (conf/conf.d/default-boot-to-casper.conf, as on Ubuntu) and calls mountroot(). It is not
# Ubuntu's casper (no user setup, persistence, toram or netboot), but it stacks the root by casper's rule, so a
# remastered ISO boots with exactly the layers a real Ubuntu boot would use:
#   - LAYERFS_PATH set (conf/conf.d/default-layer.conf, or layerfs-path= on the kernel command line, which wins):
#     only the dot-chain it names is mounted. a.b.c.squashfs -> a.squashfs, a.b.squashfs, a.b.c.squashfs, bottom
#     first, a.b.c on top. A missing member stops the boot. Other /casper/*.squashfs files are ignored.
#   - LAYERFS_PATH unset (20.04/22.04): every /casper/*.squashfs in glob order, the last on top.
# Every layer is read-only under an overlay whose upper directory is a tmpfs. The medium is found by scanning
# block devices (CD-ROMs first, then disks and their partitions) for /casper and .disk/casper-uuid-*; it is
# mounted read-only on /cdrom and moved to ${rootmnt}/cdrom once the root is assembled. Layers and the tmpfs live
# below /run/casper, which /init moves into the new root with /run.

CASPER_MEDIUM=/cdrom
CASPER_RUN=/run/casper

casper_say() {
	# Plain echo: these lines are the evidence of which layers were stacked, also with `quiet`.
	echo "casper: $*"
}

casper_parse_cmdline() {
	for x in $(cat /proc/cmdline); do
		case "$x" in
		layerfs-path=*) LAYERFS_PATH="${x#layerfs-path=}" ;;
		esac
	done
}

# Block devices that may hold the medium: CD-ROMs, then disks and their partitions (an isohybrid image written to a
# USB stick shows up as /dev/sdX with the ISO 9660 file system on the whole disk and on its first partition).
casper_candidates() {
	for d in /dev/sr* /dev/sd* /dev/vd* /dev/hd* /dev/nvme*n* /dev/mmcblk*; do
		[ -b "$d" ] && echo "$d"
	done
}

# Mount dev read-only on the medium mount point; keep it when it is a casper medium.
casper_try_medium() {
	for fstype in iso9660 vfat; do
		if mount -r -t "$fstype" "$1" "$CASPER_MEDIUM" 2>/dev/null; then
			if [ -d "$CASPER_MEDIUM/casper" ] && ls "$CASPER_MEDIUM"/.disk/casper-uuid-* >/dev/null 2>&1; then
				return 0
			fi
			umount "$CASPER_MEDIUM"
		fi
	done
	return 1
}

casper_find_medium() {
	mkdir -p "$CASPER_MEDIUM"
	i=0
	while [ "$i" -lt 60 ]; do
		for dev in $(casper_candidates); do
			if casper_try_medium "$dev"; then
				casper_say "medium $dev mounted on $CASPER_MEDIUM"
				return 0
			fi
		done
		# Slow controllers (usb-storage) may appear late.
		wait_for_udev 1
		sleep 1
		i=$((i + 1))
	done
	return 1
}

# The layer names casper stacks, bottom first, one a line.
casper_layers() {
	if [ -n "$LAYERFS_PATH" ]; then
		rest="${LAYERFS_PATH##*/}"
		rest="${rest%.squashfs}"
		prefix=
		while [ -n "$rest" ]; do
			part="${rest%%.*}"
			if [ "$part" = "$rest" ]; then rest=; else rest="${rest#*.}"; fi
			[ -n "$part" ] || continue
			prefix="${prefix:+$prefix.}$part"
			echo "$prefix.squashfs"
		done
	else
		for f in "$CASPER_MEDIUM"/casper/*.squashfs; do
			[ -f "$f" ] && echo "${f##*/}"
		done
	fi
}

casper_mount_root() {
	layers=$(casper_layers)
	[ -n "$layers" ] || panic "casper: no root file system: /casper has no *.squashfs on the medium (LAYERFS_PATH='$LAYERFS_PATH')"
	if [ -n "$LAYERFS_PATH" ]; then
		missing=
		for l in $layers; do
			[ -f "$CASPER_MEDIUM/casper/$l" ] || missing="${missing:+$missing, }/casper/$l"
		done
		if [ -n "$missing" ]; then
			panic "casper: layer chain of $LAYERFS_PATH is incomplete: missing $missing (chain: $(echo $layers))"
		fi
	fi

	mkdir -p "$CASPER_RUN/rofs" "$CASPER_RUN/cow"
	mount -t tmpfs -o mode=0755 casper-cow "$CASPER_RUN/cow" || panic "casper: cannot mount the tmpfs for the writable layer"
	mkdir -p "$CASPER_RUN/cow/upper" "$CASPER_RUN/cow/work"
	lower=
	n=0
	for l in $layers; do
		n=$((n + 1))
		dir="$CASPER_RUN/rofs/$n-${l%.squashfs}"
		mkdir -p "$dir"
		mount -r -t squashfs -o loop "$CASPER_MEDIUM/casper/$l" "$dir" || panic "casper: cannot mount /casper/$l"
		# overlayfs: the first lower directory is the top one.
		lower="$dir${lower:+:$lower}"
	done
	casper_say "root: $(echo $layers | sed 's/ / < /g') (bottom to top${LAYERFS_PATH:+, LAYERFS_PATH=$LAYERFS_PATH}) + tmpfs"
	mount -t overlay -o "lowerdir=$lower,upperdir=$CASPER_RUN/cow/upper,workdir=$CASPER_RUN/cow/work" casper-root "$rootmnt" ||
		panic "casper: cannot mount the overlay root on $rootmnt"
	mkdir -p "$rootmnt/cdrom"
	mount -n -o move "$CASPER_MEDIUM" "$rootmnt/cdrom" || panic "casper: cannot move $CASPER_MEDIUM to $rootmnt/cdrom"
}

mountroot() {
	casper_parse_cmdline
	for m in loop squashfs overlay isofs vfat sr_mod cdrom usb-storage uas; do
		modprobe -q -b "$m" 2>/dev/null
	done
	wait_for_udev 10
	casper_find_medium || panic "casper: Unable to find a medium containing a live file system (/casper with .disk/casper-uuid-*)"
	casper_mount_root
}

mount_top() {
	run_scripts /scripts/casper-top
}

mount_premount() {
	run_scripts /scripts/casper-premount
}

mount_bottom() {
	run_scripts /scripts/casper-bottom
}
