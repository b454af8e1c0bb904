# SPDX-License-Identifier: GPL-2.0
#
# Ceph's kernel clients in a guest, sourced after lib/lab.sh (its
# /rapido/lab.env holds services/ceph's client facts: CEPH_MON, CEPH_USER,
# CEPH_KEY, RBD_POOL, RBD_IMAGE, CEPHFS_NAME). The key goes only to sysfs
# or the mount options, never to the console.
#
#   rbd_map             map RBD_POOL/RBD_IMAGE; prints the device
#   rbd_unmap DEV       unmap it
#   cephfs_mount DIR    mount CEPHFS_NAME on DIR with the kernel client;
#                       every CephFS mount is undone when the autorun
#                       exits (cephfs_release_at_exit)
#   cephfs_release_at_exit
#                       when the autorun exits, pass or fail, unmount
#                       every CephFS mount of the guest (an EXIT trap);
#                       not after a pass of make rapido-boot, whose shell
#                       keeps them. A client gone without unmounting
#                       keeps its MDS session and caps until the MDS finds
#                       the session stale (session_timeout, 60 s): the
#                       next run's clients wait that long for its caps.

rbd_map() {
	local before id

	[ -n "${CEPH_KEY:-}" ] || lab_fail "no CEPH_KEY in /rapido/lab.env: is SERVICES=ceph in the profile's settings?"
	[ -w /sys/bus/rbd/add_single_major ] ||
		lab_fail "no /sys/bus/rbd/add_single_major: is the rbd module in the image (kmod rbd)?"
	before=$(ls /sys/bus/rbd/devices)
	printf '%s name=%s,secret=%s %s %s' "$CEPH_MON" "$CEPH_USER" \
		"$CEPH_KEY" "$RBD_POOL" "$RBD_IMAGE" \
		> /sys/bus/rbd/add_single_major ||
		lab_fail "cannot map $RBD_POOL/$RBD_IMAGE from $CEPH_MON"
	for id in $(ls /sys/bus/rbd/devices); do
		case " $before " in
		*" $id "*) ;;
		*) echo "/dev/rbd$id"
		   return 0 ;;
		esac
	done
	lab_fail "$RBD_POOL/$RBD_IMAGE mapped, but no new /sys/bus/rbd/devices entry"
}

rbd_unmap() {
	echo "${1#/dev/rbd}" > /sys/bus/rbd/remove_single_major ||
		lab_fail "cannot unmap $1"
}

# cephfs_mount DIR: the kernel client mounts CEPHFS_NAME's root on DIR
# (mount(2) with the monitor and the cephx name and secret as options: no
# mount.ceph helper; the kernel shows the secret as <hidden>).
cephfs_mount() {
	[ -n "${CEPH_KEY:-}" ] || lab_fail "no CEPH_KEY in /rapido/lab.env: is SERVICES=ceph in the profile's settings?"
	cephfs_release_at_exit
	mount -t ceph "$CEPH_MON:/" "$1" \
		-o "name=$CEPH_USER,secret=$CEPH_KEY,mds_namespace=$CEPHFS_NAME" ||
		lab_fail "cannot mount CephFS '$CEPHFS_NAME' of $CEPH_MON on $1"
}

cephfs_release_at_exit() {
	trap cephfs_release EXIT
}

# The EXIT trap: the autorun's status kept (dash exits with it after the
# trap); the mounts in reverse order of /proc/mounts (nested ones first).
cephfs_release() {
	_cr_rc=$?
	[ "${RAPIDO_MODE:-test}" = boot ] && [ $_cr_rc = 0 ] && return 0
	_cr_list=
	while read -r _ _cr_dir _cr_type _; do
		[ "$_cr_type" = ceph ] && _cr_list="$_cr_dir $_cr_list"
	done < /proc/mounts
	for _cr_dir in $_cr_list; do
		busybox umount "$_cr_dir" ||
			echo "${RAPIDO_PROFILE:-lab}: cannot unmount CephFS on $_cr_dir" >&2
	done
	return 0
}
