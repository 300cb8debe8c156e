#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian or Ubuntu machine (as root): system tools with apt, npm ci, build.
# Runs in seconds when everything is already there. Used by the README's commands and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tools remaster calls (build, verify) and the demo/test fixtures need.
PACKAGES=(
  xorriso squashfs-tools zstd xz-utils skopeo
  qemu-system-x86 ovmf
  debootstrap isolinux syslinux-common syslinux-utils
  grub-efi-amd64-bin grub-pc-bin grub-common mtools dosfstools
  util-linux mount kmod cpio attr busybox-static podman
  docker-registry apache2-utils
  ca-certificates curl
)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (it installs packages with apt-get)" >&2
  exit 2
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: system packages present"
fi

# Node >= 20.19 is required; the machine provides it.
node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("setup: Node >= 20.19 needed, found "+process.versions.node); process.exit(2) }'

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.remaster-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
else
  echo "setup: node_modules up to date"
fi
npm run --silent build
echo "setup: done"
