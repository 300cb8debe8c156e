#!/bin/sh
# Entrypoint of the builder image: `remaster` with its arguments.
# A privileged container gets a copy of the host's /dev taken when it starts, so a loop device the kernel
# creates later (mount -o loop and losetup ask /dev/loop-control for a free one) has no node here and the
# mount fails. Make the nodes up to loop63 first (privileged containers may mknod).
if [ -e /dev/loop-control ]; then
  i=0
  while [ "$i" -lt 64 ]; do
    [ -e "/dev/loop$i" ] || mknod -m 0660 "/dev/loop$i" b 7 "$i" 2>/dev/null || true
    i=$((i + 1))
  done
fi
exec remaster "$@"
