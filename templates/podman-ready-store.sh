#!/bin/sh
# remaster podman ready store (rendered from templates/podman-ready-store.sh): remaster filled podman's image store at
# build time and put it on the medium as a squashfs. It becomes podman's additional image store, read-only, before
# podman starts: the copy the installer put on this disk when there is one (an installed system), else the medium's.
set -eu
image=@@STORE_IMAGE@@
[ ! -f @@INSTALLED_IMAGE@@ ] || image=@@INSTALLED_IMAGE@@
exec mount -t squashfs -o ro,loop "$image" @@STORE_DIR@@
