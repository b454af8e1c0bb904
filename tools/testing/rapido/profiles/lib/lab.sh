# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the autoruns of profiles in the lab (lib/lab.manifest):
# reads /rapido/lab.env (0600: the lab host's address and prefix, and each
# service's client facts, e.g. CEPH_MON, CEPH_KEY; see services/) and
# checks that rapido-init configured the NIC (RAPIDO_VM_ADDR,
# RAPIDO_LAB_HOST from rapido.net=).
#
#   lab_fail MSG        print "<profile>: MSG" on stderr, exit 1
#   lab_sha FILE        the SHA-256 of FILE
#   lab_data FILE MIB   MIB MiB of test data into FILE: a line with a
#                       fresh uuid, then busybox's bytes over and over
#                       (not /dev/urandom: before the crng is ready, ~3 s
#                       into a TCG boot, reading it waits for it)
#   lab_ping HOST       3 pings, or lab_fail

lab_fail() {
	echo "${RAPIDO_PROFILE:-lab}: $*" >&2
	exit 1
}

[ -r /rapido/lab.env ] || lab_fail "/rapido/lab.env is missing: is NET=y or SERVICES= in the profile's settings?"
. /rapido/lab.env
[ -n "${RAPIDO_VM_ADDR:-}" ] || lab_fail "no RAPIDO_VM_ADDR: the VM has no lab NIC (rapido.net= missing)"

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
	} 2> /dev/null | busybox head -c $(($2 * 1048576)) > "$1" ||
		lab_fail "cannot write $2 MiB to $1"
}

lab_ping() {
	busybox ping -c 3 -i 0.1 -W 2 "$1" || lab_fail "cannot ping $1"
}
