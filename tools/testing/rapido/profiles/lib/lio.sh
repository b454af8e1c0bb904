# SPDX-License-Identifier: GPL-2.0
#
# lio.sh: one LIO backstore as the guest's own SCSI disk through the
# tcm_loop fabric, configured through configfs (no targetcli), for the
# profiles that put LIO on RBD (lio-rbd, tcmu-rbd). Sourced after
# blockio.sh (step, die, wait_for); installed by lio.manifest.
#
#   lio_backstore TYPE NAME CONTROL...
#                       make backstore core/TYPE_0/NAME, write each
#                       CONTROL ("key=value") to its control file, enable
#                       it; prints its configfs directory
#   lio_loop_export BACKSTORE
#                       LUN 0 of tcm_loop target $LIO_WWN (nexus
#                       $LIO_NEXUS) on BACKSTORE; prints the SCSI disk
#   lio_loop_remove     the target and its LUN again: the disk goes away
#   lio_backstore_remove BACKSTORE

LIO=/sys/kernel/config/target
LIO_WWN=naa.5001405000000011
LIO_NEXUS=naa.5001405000000012
LIO_TPG=$LIO/loopback/$LIO_WWN/tpgt_1

lio_backstore() {
	local dir=$LIO/core/$1_0/$2 ctl

	shift 2
	[ -d $LIO/core ] ||
		die "no $LIO/core: configfs or the LIO target core is missing"
	mkdir -p "$dir" || die "cannot make the backstore $dir"
	for ctl; do
		echo "$ctl" > "$dir/control" ||
			die "$dir: the target core refuses '$ctl'"
	done
	echo 1 > "$dir/enable" || die "cannot enable the backstore $dir"
	echo "$dir"
}

# The disk of SCSI address H:C:T (tcm_loop's TPG "address") at LUN 0.
lio_disk() {
	local d

	for d in /sys/class/scsi_device/"$1":0/device/block/*; do
		[ -e "$d" ] || return 1
		echo "/dev/${d##*/}"
		return 0
	done
}

lio_loop_export() {
	local addr

	mkdir -p "$LIO_TPG/lun/lun_0" ||
		die "cannot make the tcm_loop target $LIO_WWN"
	echo "$LIO_NEXUS" > "$LIO_TPG/nexus" ||
		die "cannot make the tcm_loop nexus $LIO_NEXUS"
	ln -s "$1" "$LIO_TPG/lun/lun_0/lu" ||
		die "cannot map $1 on LUN 0 of $LIO_WWN"
	read -r addr < "$LIO_TPG/address" ||
		die "no SCSI address for $LIO_WWN"
	wait_for 30 "the SCSI disk of $1 (tcm_loop $addr:0)" lio_disk "$addr"
	lio_disk "$addr"
}

lio_loop_remove() {
	rm "$LIO_TPG/lun/lun_0/lu" && rmdir "$LIO_TPG/lun/lun_0" &&
		rmdir "$LIO_TPG" "${LIO_TPG%/*}" ||
		die "cannot remove the tcm_loop target $LIO_WWN"
}

lio_backstore_remove() {
	rmdir "$1" "${1%/*}" || die "cannot remove the backstore $1"
}
