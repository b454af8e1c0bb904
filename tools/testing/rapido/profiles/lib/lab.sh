# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the autoruns of profiles in the lab (lib/lab.manifest):
# reads /rapido/lab.env (0600: the lab host's address and prefix, the run's
# VMs: RAPIDO_VMS, RAPIDO_VM<i>_ADDR, RAPIDO_VM<i>_HOSTNAME, and each
# service's client facts, e.g. CEPH_MON, CEPH_KEY; see services/) and
# checks that rapido-init configured the NIC (RAPIDO_VM_ADDR,
# RAPIDO_LAB_HOST from rapido.net=) as vm RAPIDO_VM of this run.
#
#   lab_fail MSG        print "<profile>: MSG" on stderr, exit 1
#   lab_sha FILE        the SHA-256 of FILE
#   lab_data FILE MIB   MIB MiB of test data into FILE: a line with a
#                       fresh uuid, then busybox's bytes over and over
#                       (not /dev/urandom: before the crng is ready, ~3 s
#                       into a TCG boot, reading it waits for it)
#   lab_ping HOST       3 pings, or lab_fail
#   lab_wait_ping HOST  wait until HOST answers a ping (another VM still
#                       booting), at most LAB_WAIT s, then 3 pings
#   lab_vm_addr I       the address of vm I of this run
#   lab_peers           the addresses of the run's other VMs, one a line
#   lab_serve PORT PROG [ARGS]
#                       accept one TCP connection on PORT (at most LAB_WAIT
#                       s) and run PROG with the connection as its stdin
#                       and stdout; returns PROG's status
#   lab_connect HOST PORT PROG [ARGS]
#                       connect to HOST:PORT, retrying while nobody listens
#                       there yet (at most LAB_WAIT s), and run PROG on the
#                       connection; returns PROG's status
#
# The VMs of a run synchronize through what they wait for (a ping answered,
# a connection accepted, a file in a shared file system), never by sleeping
# a guessed time.

LAB_WAIT=${LAB_WAIT:-90}

lab_fail() {
	echo "${RAPIDO_PROFILE:-lab}: $*" >&2
	exit 1
}

[ -r /rapido/lab.env ] || lab_fail "/rapido/lab.env is missing: is NET=y or SERVICES= in the profile's settings?"
. /rapido/lab.env
[ -n "${RAPIDO_VM_ADDR:-}" ] || lab_fail "no RAPIDO_VM_ADDR: the VM has no lab NIC (rapido.net= missing)"
RAPIDO_VMS=${RAPIDO_VMS:-1}

lab_vm_addr() {
	eval "echo \"\${RAPIDO_VM$1_ADDR:-}\""
}

case ${RAPIDO_VM:-} in
''|*[!0-9]*) lab_fail "no RAPIDO_VM: rapido-init did not say which VM this is" ;;
esac
# a run of one VM may have any free number; several are vm1..vmN
[ "$RAPIDO_VMS" = 1 ] ||
	{ [ "$RAPIDO_VM" -ge 1 ] && [ "$RAPIDO_VM" -le "$RAPIDO_VMS" ] &&
	  [ "$(lab_vm_addr "$RAPIDO_VM")" = "$RAPIDO_VM_ADDR" ]; } ||
	lab_fail "this is vm$RAPIDO_VM at $RAPIDO_VM_ADDR, not one of this run's vm1..vm$RAPIDO_VMS (/rapido/lab.env): another run holds those vm numbers"

lab_peers() {
	_lp_i=1
	while [ "$_lp_i" -le "$RAPIDO_VMS" ]; do
		[ "$_lp_i" = "$RAPIDO_VM" ] || lab_vm_addr "$_lp_i"
		_lp_i=$((_lp_i + 1))
	done
}

lab_sha() {
	busybox sha256sum "$1" | {
		read -r sum _
		echo "$sum"
	}
}

lab_data() {
	read -r uuid < /proc/sys/kernel/random/uuid
	{
		echo "rapido-data $uuid"
		while :; do
			busybox cat /bin/busybox || exit
		done
	} 2> /dev/null | busybox head -c $(($2 * 1048576)) > "$1"
	# by its size, not the pipe's status (with bash's pipefail the
	# writer's SIGPIPE would count)
	[ "$(busybox wc -c < "$1" 2> /dev/null)" = $(($2 * 1048576)) ] ||
		lab_fail "cannot write $2 MiB to $1"
}

lab_ping() {
	busybox ping -c 3 -i 0.1 -W 2 "$1" || lab_fail "cannot ping $1"
}

lab_wait_ping() {
	busybox ping -c 1 -w "$LAB_WAIT" "$1" > /dev/null ||
		lab_fail "$1 did not answer a ping within $LAB_WAIT s"
	lab_ping "$1"
}

lab_serve() {
	_ls_port=$1
	shift
	busybox nc -l -p "$_ls_port" -w "$LAB_WAIT" -e "$@"
}

# busybox nc says nothing of why it failed: PROG marks that it ran (the
# connection was made), so that only a refused connect is retried.
lab_connect() {
	_lc_host=$1 _lc_port=$2 _lc_mark=/tmp/.lab-connected.$$
	shift 2
	_lc_end=$(($(busybox date +%s) + LAB_WAIT))
	while :; do
		busybox rm -f "$_lc_mark"
		# nc's own complaints (refused) dropped, PROG's kept
		busybox nc -w 5 "$_lc_host" "$_lc_port" 3>&2 2> /dev/null \
			-e /bin/sh -c ': > "$0" && exec "$@" 2>&3 3>&-' \
			"$_lc_mark" "$@"
		_lc_rc=$?
		[ -e "$_lc_mark" ] && break
		[ "$(busybox date +%s)" -lt "$_lc_end" ] ||
			lab_fail "nobody accepted a connection on $_lc_host:$_lc_port within $LAB_WAIT s"
		# refused: the peer does not listen yet; try again shortly
		busybox usleep 100000
	done
	busybox rm -f "$_lc_mark"
	return "$_lc_rc"
}
