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

# One HTTP GET on loopback; prints http:<status> or the reason it failed.
probe() {
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3 && head -n 1 <&3' _ "$1" 2>/dev/null |
		awk '/^HTTP\//{print "http:" $2; found=1} END{if(!found) print "no-answer"}'
}

# app <name> <unit> <ActiveState> <probe>: every run unit, after waiting up to 90 s for it to answer.
apps() {
	[ -r /var/lib/remaster/apps.list ] || return 0
	while IFS=$'\t' read -r -u 4 name unit port; do
		result=-
		for _ in $(seq 1 90); do
			if [ "$(systemctl show -p ActiveState --value "$unit")" = active ]; then
				[ -z "$port" ] && break
				result=$(probe "$port")
				[ "${result#http:}" != "$result" ] && break
			fi
			sleep 1
		done
		state=$(systemctl show -p ActiveState --value "$unit")
		echo "app $name $unit $state $result"
		if [ "$state" != active ] || [ "${result#http:}" = "$result" ] && [ -n "$port" ]; then
			journalctl -b -u "$unit" -o cat --no-pager 2>/dev/null | tail -n 15 | sed "s/^/app-journal $name /"
		fi
	done 4</var/lib/remaster/apps.list
}
show() { systemctl show -p "$1" --value remaster-loader.service; }
{
	echo "remaster-report 1"
	echo "engine $ENGINE"
	echo "engine-version $("$ENGINE" --version 2>&1 | head -n 1)"
	echo "loader-state $(show ActiveState)"
	echo "loader-result $(show Result)"
	echo "loader-exit $(show ExecMainStatus)"
	echo "loader-done-us $(show ExecMainExitTimestampMonotonic)"
	[ "$ENGINE" != docker ] || echo "engine-up-us $(systemctl show -p ActiveEnterTimestampMonotonic --value docker.service)"
	list 2>"$errs" </dev/null | grep -v '^<none>:<none>' | sed 's/^/image /'
	sed 's/^/list-error /' "$errs"
	systemctl list-units --state=failed --plain --no-legend --no-pager | awk '{print "failed-unit " $1}'
	if [ -d /sys/firmware/efi ]; then
		# The SecureBoot variable: 4 attribute bytes, then 1 when Secure Boot is enforced.
		sb=$(od -An -t u1 -j 4 -N 1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c 2>/dev/null | tr -d ' ')
		echo "firmware uefi secure-boot=$([ "$sb" = 1 ] && echo on || echo off)"
	else
		echo "firmware bios"
	fi
	echo "cmdline $(cat /proc/cmdline)"
	echo "root-fs $(findmnt -n -o FSTYPE /)"
	echo "store-fs $(findmnt -n -o FSTYPE -T @@STORE_PROBE@@)"
	apps
	echo "uptime $(cut -d' ' -f1 /proc/uptime)"
	journalctl -b -u remaster-loader.service -o cat --no-pager 2>/dev/null | tail -n 40 | sed 's/^/journal /'
	echo "end"
} >"$PORT" 2>/dev/null
sync
systemctl poweroff --no-block
