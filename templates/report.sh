#!/bin/bash
# remaster verification report (rendered from templates/report.sh). Runs only when the virtio-serial port
# org.remaster.report exists, which `remaster verify` adds to the VM: it writes what the engine holds to
# the port, then powers the VM off. On real hardware the port never appears and this never runs.
set -u
ENGINE=@@ENGINE@@
PORT=/dev/virtio-ports/@@REPORT_PORT@@
for _ in $(seq 1 30); do
	[ -e "$PORT" ] && break
	sleep 1
done
[ -e "$PORT" ] || exit 0

case "$ENGINE" in
docker) list() { docker image ls --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}'; } ;;
podman) list() { podman images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}'; } ;;
esac
errs=$(mktemp)
show() { systemctl show -p "$1" --value remaster-loader.service; }
{
	echo "remaster-report 1"
	echo "engine $ENGINE"
	echo "engine-version $("$ENGINE" --version 2>&1 | head -n 1)"
	echo "loader-state $(show ActiveState)"
	echo "loader-result $(show Result)"
	echo "loader-exit $(show ExecMainStatus)"
	list 2>"$errs" </dev/null | grep -v '^<none>:<none>' | sed 's/^/image /'
	sed 's/^/list-error /' "$errs"
	systemctl list-units --state=failed --plain --no-legend --no-pager | awk '{print "failed-unit " $1}'
	echo "root-fs $(findmnt -n -o FSTYPE /)"
	echo "store-fs $(findmnt -n -o FSTYPE -T @@STORE_PROBE@@)"
	echo "uptime $(cut -d' ' -f1 /proc/uptime)"
	journalctl -b -u remaster-loader.service -o cat --no-pager 2>/dev/null | tail -n 40 | sed 's/^/journal /'
	echo "end"
} >"$PORT" 2>/dev/null
sync
systemctl poweroff --no-block
