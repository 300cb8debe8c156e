#!/bin/sh
# remaster: put the container engine and the payload on the system an installer just installed (rendered from
# templates/d-i-netinst.sh). A netinst or DVD image has no live root to copy: d-i installed the base system with
# debootstrap from the medium's pool; Ubiquity copied the first squashfs only, then set up users, GRUB and packages, so
# copying a layer over it would undo that (/etc/group, the dpkg status). This runs as d-i's preseed/late_command or
# Ubiquity's ubiquity/success_command (after the site's own), when /target is complete and the medium is on /cdrom:
#   1. the engine's .debs from the medium: those /target lacks, or has in an older version, are installed with one
#      `in-target dpkg -i` (dpkg orders them; services do not start inside the installer);
#   2. the payload tar (loader, units and their enable links, engine configuration, image archives, manifest) is
#      unpacked over /target. The loader runs at the first boot of the installed system.
# Runs in d-i's busybox (only commands d-i has: the build's replay runs it with just those on PATH, in-target being a
# chroot there) or in Ubiquity's live session (no in-target: a chroot with the API filesystems and services kept from
# starting, as in-target does). REMASTER_TARGET and REMASTER_CDROM let a host-side test run it too.
set -eu
TARGET=${REMASTER_TARGET:-/target}
CDROM=${REMASTER_CDROM:-/cdrom}
DEBS=$CDROM@@DEBS@@
PAYLOAD=$CDROM@@PAYLOAD@@
STAGE=/var/tmp/remaster-debs
LOG=$TARGET/var/log/remaster-install.log

say() {
	echo "remaster: $*"
	logger -t remaster "$*" 2>/dev/null || true
	echo "$*" >>"$LOG" 2>/dev/null || true
}

mkdir -p "$TARGET/var/log"
if [ ! -d "$DEBS" ] || [ ! -f "$PAYLOAD" ]; then
	say "ERROR: $DEBS or $PAYLOAD is not on the medium: the installed system gets no container engine and no images"
	exit 1
fi
rm -rf "$TARGET$STAGE"
mkdir -p "$TARGET$STAGE"
cp "$DEBS"/*.deb "$TARGET$STAGE/"

# Runs inside /target, where dpkg is: skip what is installed already at this version or a newer one.
cat >"$TARGET$STAGE/install" <<'INSTALL'
set -eu
cd /var/tmp/remaster-debs
export DEBIAN_FRONTEND=noninteractive
todo=""
skipped=0
for deb in *.deb; do
	pkg=$(dpkg-deb -f "$deb" Package)
	ver=$(dpkg-deb -f "$deb" Version)
	have=$(dpkg-query -W -f '${db:Status-Status} ${Version}\n' "$pkg" 2>/dev/null | head -n 1 || true)
	if [ "${have%% *}" = installed ] && dpkg --compare-versions "${have#* }" ge "$ver"; then
		skipped=$((skipped + 1))
	else
		todo="$todo $deb"
	fi
done
echo "remaster: dpkg -i of $(echo $todo | wc -w) package(s); $skipped already installed"
if [ -n "$todo" ]; then
	# shellcheck disable=SC2086 # one word per file
	dpkg -i --force-confdef --force-confold $todo
fi
INSTALL

# Ubiquity's live session has no in-target: do what it does (API filesystems, no service starts, chroot).
in_target() {
	if command -v in-target >/dev/null 2>&1; then
		in-target "$@"
		return
	fi
	made=""
	for fs in proc sys dev; do
		if [ -z "$(ls -A "$TARGET/$fs" 2>/dev/null)" ]; then
			mount --bind "/$fs" "$TARGET/$fs" && made="$fs $made"
		fi
	done
	policy=""
	if [ ! -e "$TARGET/usr/sbin/policy-rc.d" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$TARGET/usr/sbin/policy-rc.d"
		chmod 755 "$TARGET/usr/sbin/policy-rc.d"
		policy=yes
	fi
	rc=0
	chroot "$TARGET" "$@" || rc=$?
	[ -z "$policy" ] || rm -f "$TARGET/usr/sbin/policy-rc.d"
	for fs in $made; do umount "$TARGET/$fs" || true; done
	return $rc
}

say "installing the container engine from $DEBS into $TARGET"
if ! in_target sh "$STAGE/install"; then
	say "ERROR: dpkg could not install the engine's packages into $TARGET (see the installer's syslog)"
	exit 1
fi
rm -rf "${TARGET:?}$STAGE"

tar -x -f "$PAYLOAD" -C "$TARGET"
entries=$(tar -t -f "$PAYLOAD" | wc -l)
say "engine installed and $entries payload entries unpacked into $TARGET"
