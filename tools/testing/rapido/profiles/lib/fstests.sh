# SPDX-License-Identifier: GPL-2.0
#
# fstests on zram, shared by the fstests-<fs> profiles; sourced by their
# autorun as /rapido/lib/fstests.sh (installed by lib/fstests.manifest).
#
#   fstests_local FSTYP
#   fstests_cephfs
#
# Makes two zram devices of $ZRAM_SIZE, a FSTYP file system on the first
# mounted at /mnt/test (TEST_DEV, TEST_DIR) and the second ready for the
# tests at /mnt/scratch (SCRATCH_DEV, SCRATCH_MNT), writes the fstests
# config (/fstests/local.config and /fstests/configs/<hostname>.config),
# then runs ./check $FSTESTS if FSTESTS is set. Returns check's status,
# or 1 if the devices or the file system could not be made or check ran
# no test at all.
#
# fstests_cephfs does the same on the lab's CephFS (lib/lab.sh sourced
# first: CEPH_MON, CEPH_USER, CEPH_KEY, CEPHFS_NAME): TEST_DEV and
# SCRATCH_DEV are its directories /rapido-fstests/test and /scratch (made
# on a first mount of its root). Every mount -t ceph goes through
# /sbin/mount.ceph (lib/mount.ceph), which adds the secret: it is in no
# config and no mount option fstests prints.

. /rapido/lib/zram.sh

fstests_users() {
	# the users and groups fstests' _require_user and friends look for
	[ -f /etc/passwd ] || cat > /etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
fsgqa:x:1000:1000:fsgqa:/tmp:/bin/sh
123456-fsgqa:x:1001:1001:fsgqa numeric:/tmp:/bin/sh
fsgqa2:x:1002:1002:fsgqa2:/tmp:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
	[ -f /etc/group ] || cat > /etc/group <<'GROUP'
root:x:0:
fsgqa:x:1000:
123456-fsgqa:x:1001:
fsgqa2:x:1002:
nogroup:x:65534:
GROUP
}

fstests_mkfs() {
	case $1 in
	xfs) mkfs.xfs -f -q "$2" ;;
	btrfs) mkfs.btrfs -f -q "$2" > /dev/null ;;
	ext2|ext3|ext4) "mkfs.$1" -F -q "$2" ;;
	*) echo "fstests: no mkfs for FSTYP '$1'" >&2; return 1 ;;
	esac
}

fstests_local() {
	fstyp=$1
	size=${ZRAM_SIZE:-1G}
	dir=/fstests

	devs=$(zram_setup "$size" 2) || return 1
	test_dev=$(echo "$devs" | sed -n 1p)
	scratch_dev=$(echo "$devs" | sed -n 2p)
	if ! fstests_mkfs "$fstyp" "$test_dev"; then
		echo "fstests: mkfs of $fstyp on $test_dev failed" >&2
		return 1
	fi
	mkdir -p /mnt/test /mnt/scratch /etc
	if ! mount -t "$fstyp" "$test_dev" /mnt/test; then
		echo "fstests: mounting $fstyp $test_dev on /mnt/test failed" >&2
		return 1
	fi
	fstests_users
	fstests_config "$fstyp" "$test_dev" "$scratch_dev" ""
	echo "fstests: $fstyp TEST_DEV=$test_dev on /mnt/test, SCRATCH_DEV=$scratch_dev for /mnt/scratch ($size each)"
	fstests_check
}

# fstests_config FSTYP TEST_DEV SCRATCH_DEV EXTRA: the fstests config
# (/fstests/local.config, /fstests/configs/<hostname>.config), with the
# lines EXTRA at its end.
fstests_config() {
	dir=/fstests
	mkdir -p "$dir/configs"
	cat > "$dir/configs/$(hostname).config" <<CONFIG
# written by rapido's fstests-$1 profile
export FSTYP=$1
export TEST_DEV=$2
export TEST_DIR=/mnt/test
export SCRATCH_DEV=$3
export SCRATCH_MNT=/mnt/scratch
$4
CONFIG
	cp "$dir/configs/$(hostname).config" "$dir/local.config"
}

# fstests_check: ./check $FSTESTS in /fstests, if FSTESTS is set.
fstests_check() {
	dir=/fstests
	if [ -z "${FSTESTS:-}" ]; then
		echo "fstests: ready; FSTESTS= not given, nothing run (cd $dir && ./check <tests>)"
		return 0
	fi
	echo "fstests: cd $dir && ./check $FSTESTS"
	# shellcheck disable=SC2086 # FSTESTS is a list of tests and options
	{ (cd "$dir" && ./check $FSTESTS) 2>&1; echo $? > /tmp/fstests.rc; } |
		tee /tmp/fstests.out
	rc=$(cat /tmp/fstests.rc)
	# check passes when FSTESTS names no test it knows ("unknown test,
	# ignored": "Passed all 0 tests") and when every test it tried was
	# not run ("Ran: generic/001", "Not run: generic/001", "Passed all 1
	# tests"): a run of no test is no pass
	ran=$(sed -n 's/^Ran: //p' /tmp/fstests.out | wc -w)
	notrun=$(sed -n 's/^Not run: //p' /tmp/fstests.out | wc -w)
	if [ "$rc" -eq 0 ] && [ $((ran - notrun)) -le 0 ]; then
		echo "fstests: ./check ran no test ($ran tried, $notrun not run): FSTESTS='$FSTESTS' (see above)" >&2
		return 1
	fi
	echo "fstests: ./check ran $((ran - notrun)) tests ($notrun not run), status $rc"
	return "$rc"
}

fstests_cephfs() {
	top=$CEPH_MON:/rapido-fstests
	opts=name=$CEPH_USER,mds_namespace=$CEPHFS_NAME

	mkdir -p /mnt/test /mnt/scratch /etc
	if ! mount -t ceph "$CEPH_MON:/" /mnt/test -o "$opts"; then
		echo "fstests: cannot mount the lab's CephFS $CEPHFS_NAME from $CEPH_MON (above)" >&2
		return 1
	fi
	mkdir -p /mnt/test/rapido-fstests/test /mnt/test/rapido-fstests/scratch &&
		umount /mnt/test || return 1
	if ! mount -t ceph "$top/test" /mnt/test -o "$opts"; then
		echo "fstests: mounting ceph $top/test on /mnt/test failed" >&2
		return 1
	fi
	fstests_users
	fstests_config ceph "$top/test" "$top/scratch" "export TEST_FS_MOUNT_OPTS='-o $opts'
export MOUNT_OPTIONS='-o $opts'"
	echo "fstests: ceph TEST_DEV=$top/test on /mnt/test, SCRATCH_DEV=$top/scratch for /mnt/scratch (fs $CEPHFS_NAME)"
	fstests_check
}
