#!/usr/bin/env bash
# Makes the base image for docker-compose.yml on a machine that cannot pull from Docker Hub:
# Debian bookworm from debootstrap, imported with `docker import`, plus this machine's Node (>= 20.19) and npm
# copied in (Debian bookworm's own nodejs is 18, too old), and the CAs this machine added. Then:
#   REMASTER_BASE_IMAGE=$(scripts/compose-base.sh) docker-compose build
# Usage: scripts/compose-base.sh [--force] [--print-tag] [--mirror URL]   (as root, with dockerd running)
# The tag is keyed by the recipe (remaster-base:bookworm-<hash> of this script, scripts/in-root, the mirror, the
# Node and npm copied in and the local CAs): a change to any of them makes a new image, never a stale reuse. It is
# printed on stdout (the only thing printed there); an image with that tag is reused unless --force.
# --print-tag prints the tag without building anything.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

mirror=http://deb.debian.org/debian
force=0
print_tag=0
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --print-tag) print_tag=1 ;;
    --mirror) mirror=${2:?--mirror needs a URL}; shift ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compose-base: unknown argument $1" >&2; echo "hint: scripts/compose-base.sh [--force] [--print-tag] [--mirror URL]" >&2; exit 2 ;;
  esac
  shift
done

fail() { echo "compose-base: $1" >&2; echo "hint: $2" >&2; exit 2; }
# Node and npm from this machine: the binary and npm's package folder, laid out as the official images do
# (/usr/local/bin/node, /usr/local/lib/node_modules/npm).
node_bin=$(command -v node || true)
[ -n "$node_bin" ] || fail "node is not installed here" "install Node >= 20.19 on this machine first; its binary is copied into the image"
node_bin=$(readlink -f "$node_bin")
"$node_bin" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
  fail "this machine's Node is $("$node_bin" -v); the builder needs >= 20.19" "install Node >= 20.19 here, or use a base image that has it (REMASTER_BASE_IMAGE)"
npm_cli=$(command -v npm || true)
[ -n "$npm_cli" ] || fail "npm is not installed here" "install npm beside node"
npm_dir=$(dirname "$(dirname "$(readlink -f "$npm_cli")")")
[ -f "$npm_dir/package.json" ] && [ -f "$npm_dir/bin/npm-cli.js" ] || fail "cannot find npm's package folder (looked at $npm_dir)" "npm must be installed as a package folder with bin/npm-cli.js"
shopt -s nullglob
cas=(/usr/local/share/ca-certificates/*.crt)
shopt -u nullglob

# The recipe: everything that shapes the image. Its hash names the tag.
recipe() {
  echo "mirror $mirror"
  echo "node $("$node_bin" -v)"
  echo "npm $("$node_bin" -p "require('$npm_dir/package.json').version")"
  sha256sum "$here/compose-base.sh" "$here/in-root" | cut -d' ' -f1
  [ ${#cas[@]} -eq 0 ] || sha256sum "${cas[@]}" | sed 's#  .*/#  #'
}
tag=remaster-base:bookworm-$(recipe | sha256sum | cut -c1-12)
if [ "$print_tag" -eq 1 ]; then
  echo "$tag"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || fail "run as root" "debootstrap needs root: sudo $0"
command -v debootstrap >/dev/null || fail "debootstrap is missing" "apt-get install debootstrap (or scripts/setup.sh)"
command -v docker >/dev/null || fail "docker is missing" "apt-get install docker.io"
docker info >/dev/null 2>&1 || fail "the Docker daemon does not answer" "start it (service docker start, or dockerd &) and try again"
if [ "$force" -eq 0 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "compose-base: $tag exists (--force rebuilds it)" >&2
  echo "$tag"
  exit 0
fi

root=$(mktemp -d /var/tmp/remaster-base.XXXXXX)
cleanup() {
  # debootstrap mounts /proc and /sys in the root while it runs; never delete through a mount.
  for m in $(findmnt -rn -o TARGET | grep -F "$root" | sort -r); do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  if findmnt -rn -o TARGET | grep -qF "$root"; then echo "compose-base: $root is still mounted; not deleting it" >&2; else rm -rf --one-file-system "$root"; fi
}
trap cleanup EXIT

echo "compose-base: debootstrap bookworm from $mirror" >&2
debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
  { tail -20 "$root.log" >&2; rm -f "$root.log"; fail "debootstrap failed (log above)" "check that $mirror is reachable (or pass --mirror)"; }
rm -f "$root.log"

security=${mirror%/debian}/debian-security
[ "$security" = "$mirror/debian-security" ] && security=http://deb.debian.org/debian-security
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb

# Certificate authorities this machine added (/usr/local/share/ca-certificates: a company's or a proxy's
# own) are trusted in the image too, or npm ci and skopeo fail there with "self-signed certificate in chain".
if [ ${#cas[@]} -gt 0 ]; then
  cp "${cas[@]}" "$root/usr/local/share/ca-certificates/"
  "$here/in-root" "$root" update-ca-certificates >/dev/null
  echo "compose-base: trusting this machine's local CAs in the image: ${cas[*]##*/}" >&2
fi

install -D -m 0755 "$node_bin" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
"$here/in-root" "$root" /usr/local/bin/node -e 'process.stderr.write(`compose-base: node ${process.version} runs in the image\n`)'

echo "compose-base: docker import as $tag" >&2
tar -C "$root" --numeric-owner --xattrs -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["bash"]' \
  --message "debootstrap bookworm $(date -u +%Y-%m-%d) + node $("$node_bin" -v)" - "$tag" >/dev/null
docker image ls "$tag" >&2
# Images of earlier recipes are stale by construction: untag them (layers a builder image still uses stay).
for old in $(docker image ls --format '{{.Repository}}:{{.Tag}}' remaster-base | grep -vxF "$tag" | grep -E '^remaster-base:bookworm(-[0-9a-f]+)?$' || true); do
  docker image rm "$old" >/dev/null 2>&1 && echo "compose-base: removed the stale $old" >&2 || true
done
echo "$tag"
