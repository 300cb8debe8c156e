#!/bin/sh
# The recipe users run today (see the seeds): unpack the ISO and its root, chroot-install docker, copy the image
# tarballs in with a systemd unit that imports them at boot, re-compress the whole root with the base's
# compression, and rebuild the ISO with the base's boot setup. The benchmark times it against remaster.
#
#   bench/naive.sh <base.iso> <out.iso> <rootfs.tar>=<name:tag>...
#
# NAIVE_WORK: scratch folder (default: mktemp -d). NAIVE_APT_ARCHIVES: a folder of .debs bound in as apt's cache,
# so the benchmark compares builds, not the network (remaster gets the same folder).
set -eu

[ $# -ge 3 ] || { echo "usage: $0 <base.iso> <out.iso> <rootfs.tar>=<name:tag>..." >&2; exit 2; }
base=$1; out=$2; shift 2
work=${NAIVE_WORK:-$(mktemp -d /var/tmp/naive.XXXXXX)}
root=$work/root
tree=$work/iso

cleanup() {
  for m in var/cache/apt/archives dev/pts dev sys proc; do
    mountpoint -q "$root/$m" 2>/dev/null && umount "$root/$m"
  done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT INT TERM

# 1. The ISO's files and its root filesystem.
xorriso -osirrox on -indev "$base" -extract / "$tree" 2>/dev/null
chmod -R u+w "$tree"
sq=$tree/live/filesystem.squashfs
comp=$(unsquashfs -s "$sq" | sed -n 's/^Compression //p')
block=$(unsquashfs -s "$sq" | sed -n 's/^Block size //p')
unsquashfs -q -n -d "$root" "$sq"

# 2. docker.io in a chroot.
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
if [ -n "${NAIVE_APT_ARCHIVES:-}" ]; then mount --bind "$NAIVE_APT_ARCHIVES" "$root/var/cache/apt/archives"; fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod 755 "$root/usr/sbin/policy-rc.d"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get update -q
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io apparmor
rm -f "$root/usr/sbin/policy-rc.d"
: > "$root/etc/resolv.conf"
for m in var/cache/apt/archives dev/pts dev sys proc; do
  mountpoint -q "$root/$m" && umount "$root/$m"
done
rm -rf "$root"/var/lib/apt/lists/*_* 

# 3. The images and a unit that imports them (docker import of a rootfs tarball, as in the seeds).
mkdir -p "$root/opt/images"
: > "$root/opt/images/list"
for spec in "$@"; do
  file=${spec%%=*}; ref=${spec#*=}
  cp "$file" "$root/opt/images/"
  printf '%s %s\n' "$(basename "$file")" "$ref" >> "$root/opt/images/list"
done
cat > "$root/etc/systemd/system/load-images.service" <<'UNIT'
[Unit]
Description=Import preloaded images
After=docker.service
Requires=docker.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'while read f r; do docker import /opt/images/$f $r; done < /opt/images/list'

[Install]
WantedBy=multi-user.target
UNIT
ln -sf ../load-images.service "$root/etc/systemd/system/multi-user.target.wants/load-images.service"

# 4. The whole root again, with the base's compression and block size.
rm -f "$sq"
mksquashfs "$root" "$sq" -noappend -comp "$comp" -b "$block" -no-progress -quiet

# 5. The ISO, with the base's El Torito and hybrid boot setup replayed.
rm -f "$out"
eval "set -- $(xorriso -indev "$base" -report_el_torito as_mkisofs 2>/dev/null | tr '\n' ' ')"
xorriso -as mkisofs -r -J -joliet-long "$@" -o "$out" "$tree" 2>/dev/null
