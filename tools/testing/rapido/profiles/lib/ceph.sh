# SPDX-License-Identifier: GPL-2.0
#
# Ceph's kernel clients in a guest, sourced after lib/lab.sh (its
# /rapido/lab.env holds services/ceph's client facts: CEPH_MON, CEPH_USER,
# CEPH_KEY, RBD_POOL, RBD_IMAGE, CEPHFS_NAME). The key goes only to sysfs
# or the mount options, never to the console.
#
#   rbd_map             map RBD_POOL/RBD_IMAGE; prints the device
#   rbd_unmap DEV       unmap it
#   cephfs_mount DIR    mount CEPHFS_NAME on DIR with the kernel client

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
	mount -t ceph "$CEPH_MON:/" "$1" \
		-o "name=$CEPH_USER,secret=$CEPH_KEY,mds_namespace=$CEPHFS_NAME" ||
		lab_fail "cannot mount CephFS '$CEPHFS_NAME' of $CEPH_MON on $1"
}
