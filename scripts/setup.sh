#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian or Ubuntu machine (as root): system tools with apt, npm ci, build.
# Runs in seconds when everything is already there. Used by the README's commands and by .ci/run.
# --runtime: only the packages remaster and `remaster demo` call, not the tests' (the Dockerfile uses it);
# --packages-only: stop after apt (no npm ci, no build).
set -euo pipefail
cd "$(dirname "$0")/.."

# Tools remaster calls (build, verify) and the demo's base ISO and busybox image need.
PACKAGES=(
  xorriso squashfs-tools zstd xz-utils skopeo
  qemu-system-x86 ovmf
  debootstrap isolinux syslinux-common syslinux-utils
  grub-efi-amd64-bin grub-pc-bin grub-common mtools dosfstools
  util-linux mount kmod cpio attr busybox-static e2fsprogs rsync
  ca-certificates
)
# What the tests add: podman (image tests), a local registry, Docker with compose (test/e2e/compose), and
# apt-ftparchive (apt-utils) for the installer fixture's package pools; a Docker that is already there (docker-ce
# from Docker's own repository, say) is used as it is.
TEST_PACKAGES=(podman docker-registry apache2-utils curl apt-utils)
command -v dockerd >/dev/null || TEST_PACKAGES+=(docker.io)
command -v docker-compose >/dev/null || { command -v docker >/dev/null && docker compose version >/dev/null 2>&1; } ||
  TEST_PACKAGES+=(docker-compose)
runtime=0
packages_only=0
for arg in "$@"; do
  case "$arg" in
    --runtime) runtime=1 ;;
    --packages-only) packages_only=1 ;;
    *)
      echo "setup: unknown argument $arg (usage: scripts/setup.sh [--runtime] [--packages-only])" >&2
      exit 2
      ;;
  esac
done
[ "$runtime" -eq 1 ] || PACKAGES+=("${TEST_PACKAGES[@]}")

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
[ "$packages_only" -eq 0 ] || exit 0

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
