# SPDX-License-Identifier: GPL-2.0
#
# smbd in a guest (samba-local, samba-cephfs), sourced after lib/lab.sh
# as /rapido/lib/samba.sh (lib/samba.manifest). The share is checked by
# the profile's host side (profiles/samba-local/host), which puts its
# verdict into it as rapido-result (renamed into place: whole).
#
#   smbd_start            nobody in /etc/passwd (smbd's guest account),
#                         smbd -D with /etc/samba-local/smb.conf, then wait
#                         (30 s at most) until it listens on the VM's
#                         address, port 445; lab_fail if not
#   samba_wait FILE SECS WHAT
#                         wait until FILE exists, checking every 0.1 s;
#                         lab_fail naming WHAT after SECS s
#   samba_result DIR      wait (SAMBA_LOCAL_WAIT s) for DIR/rapido-result,
#                         check the file it names has its SHA-256 in DIR;
#                         prints "<name> <sha256>"

smbd_start() {
	echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >> /etc/passwd
	echo 'nogroup:x:65534:' >> /etc/group
	smbd -D -s /etc/samba-local/smb.conf < /dev/null ||
		lab_fail "smbd did not start: $(busybox tail -n 12 /tmp/smbd.log)"
	# /proc/net/tcp's "local address" in hex (little-endian), state 0A
	IFS=. read -r _s1 _s2 _s3 _s4 <<EOA
$RAPIDO_VM_ADDR
EOA
	_want=$(printf '%02X%02X%02X%02X:01BD' "$_s4" "$_s3" "$_s2" "$_s1")
	_i=0
	until smbd_listening; do
		_i=$((_i + 1))
		[ $_i -lt 300 ] ||
			lab_fail "smbd does not listen on $RAPIDO_VM_ADDR:445 after 30 s: $(busybox tail -n 12 /tmp/smbd.log)"
		busybox sleep 0.1
	done
}

smbd_listening() {
	while read -r _ _l _ _st _; do
		[ "$_l" = "$_want" ] && [ "$_st" = 0A ] && return 0
	done < /proc/net/tcp
	return 1
}

samba_wait() {
	_i=0
	until [ -f "$1" ]; do
		_i=$((_i + 1))
		[ $_i -lt $(($2 * 10)) ] ||
			lab_fail "no $3 after $2 s ($1)"
		busybox sleep 0.1
	done
}

samba_result() {
	samba_wait "$1/rapido-result" "$SAMBA_LOCAL_WAIT" \
		"result from the host side in the share (SAMBA_LOCAL_WAIT; its log: .rapido/results/$RAPIDO_PROFILE.host.log)"
	read -r _verdict _name _sum < "$1/rapido-result"
	[ "$_verdict" = ok ] ||
		lab_fail "the host's check failed: $_verdict $_name $_sum"
	case $_name in
	''|*/*) lab_fail "the host's result names no file: '$_name'" ;;
	esac
	[ -f "$1/$_name" ] || lab_fail "the host wrote $_name, but it is not in $1"
	_here=$(lab_sha "$1/$_name")
	[ "$_here" = "$_sum" ] ||
		lab_fail "the host wrote $_name with sha256 $_sum, $1 has $_here"
	echo "$_name $_sum"
}
