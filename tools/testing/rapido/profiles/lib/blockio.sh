# SPDX-License-Identifier: GPL-2.0
#
# blockio.sh: shell helpers of the local storage profiles (lio-local,
# mpath-local, usb-gadget), in the image as /rapido/lib/blockio.sh (see
# blockio.manifest). An autorun sets P=<profile> and sources it; zram
# devices come from zram.sh (zram.manifest).
#
#   step TEXT...            say what comes next, with the guest's uptime
#   die TEXT...             say why the profile fails, exit 1
#   wait_until SECS CMD     run CMD every 50 ms until it succeeds (0), at
#                           most SECS seconds (1)
#   wait_for SECS WHAT CMD  the same, but die naming WHAT when time is up
#   ms_now                  milliseconds since boot
#   random_file FILE MIB    MIB mebibytes of random data
#   disk_write_verify DEV FILE
#                           write FILE to the start of DEV with O_DIRECT,
#                           read it back with O_DIRECT and compare
#   same_bytes A B MIB      the first MIB mebibytes of A and B are equal

set -u -o pipefail

step() {
	local up

	read -r up _ < /proc/uptime
	echo "$P: [$up] $*"
}

die() {
	echo "$P: FAIL: $*" >&2
	exit 1
}

wait_until() {
	local end=$(($(ms_now) + $1 * 1000))

	shift
	until "$@" > /dev/null 2>&1; do
		[ "$(ms_now)" -lt $end ] || return 1
		sleep 0.05
	done
}

wait_for() {
	local secs=$1 what=$2

	shift 2
	wait_until "$secs" "$@" || die "$what: not there after $secs s"
}

ms_now() {
	local up

	read -r up _ < /proc/uptime
	echo $((10#${up/./} * 10))
}

random_file() {
	head -c $(($2 << 20)) /dev/urandom > "$1" || die "cannot write $1"
}

# A copy of the first $3 MiB of $1 in $2, read with O_DIRECT from a device.
head_of() {
	local direct=

	[ -b "$1" ] && direct=iflag=direct
	dd if="$1" of="$2" bs=1M count="$3" $direct status=none
}

same_bytes() {
	local a=$1 b=$2 mib=$3 rc

	head_of "$a" /tmp/.same.a "$mib" && head_of "$b" /tmp/.same.b "$mib" &&
		cmp /tmp/.same.a /tmp/.same.b
	rc=$?

	rm -f /tmp/.same.a /tmp/.same.b
	return $rc
}

disk_write_verify() {
	local dev=$1 file=$2 mib

	mib=$(($(stat -c %s "$file") >> 20))
	dd if="$file" of="$dev" bs=1M oflag=direct conv=fsync status=none ||
		die "$dev: write failed"
	same_bytes "$dev" "$file" "$mib" ||
		die "$dev: the data read back differs from what was written"
}
