# SPDX-License-Identifier: GPL-2.0
#
# Shared by the lab's service scripts (lab, ceph; sourced, not run).
#
# The lab of an output tree: a network namespace of its own, named
# rapido-<first 8 hex digits of sha256(output tree path, device, inode)>
# (the same path in two mount namespaces can be two trees), holding bridge
# rbr0 with the lab's host address and tap rtap<N> for VM N; nothing of it
# is in the host's namespace. State (pids, logs, secrets) lives in
# <objtree>/.rapido/lab (mode 0700).
#
# Environment: RAPIDO_OBJTREE (the output tree; the driver sets it, else
# the current directory); the settings below (rapido-settings --lab: from
# .rapido.config, make rapido-menuconfig's menu "Lab", unless given in the
# environment, which is how make passes its command-line variables).

readonly EX_RAPIDO=128

die() {
	echo "rapido: $*" >&2
	exit $EX_RAPIDO
}

info() {
	echo "rapido: $*"
}

# Milliseconds since $EPOCHREALTIME was $1.
ms_since() {
	local a=${1/./} b=${EPOCHREALTIME/./}

	echo $(((10#$b - 10#$a) / 1000))
}

[ "$EUID" = 0 ] ||
	die "the lab needs root: it creates a network namespace (/run/netns), a bridge and taps in it (run as root, e.g. sudo)"
for cmd in ip flock sha256sum; do
	type -P "$cmd" > /dev/null ||
		die "'$cmd' is not installed (apt-get install iproute2 util-linux coreutils)"
done

objtree=${RAPIDO_OBJTREE:-$PWD}
objtree=$(cd "$objtree" && pwd) || die "cannot enter the output tree '$objtree'"
labdir=$objtree/.rapido/lab
netns=$(stat -L -c '%d %i' "$objtree") ||
	die "cannot stat the output tree '$objtree'"
netns=$(printf '%s %s' "$objtree" "$netns" | sha256sum)
netns=rapido-${netns:0:8}
bridge=rbr0

# The lab's settings, read by rapido-settings (the one reader of rapido's
# settings; built into .rapido/bin when missing or older than its source):
# the environment's NAME, else CONFIG_RAPIDO_<NAME> of .rapido.config, else
# Kconfig.rapido's default. Values are checked against its table.
# (no dirname: `lab nic` is on a VM's boot path, each process counts)
srctree=${BASH_SOURCE[0]%/*}
srctree=$(cd "$srctree/../../../.." && pwd) ||
	die "cannot find rapido's source tree"
settings_bin=$objtree/.rapido/bin/rapido-settings
for f in "$srctree"/scripts/rapido/rapido-settings*.[ch] \
	 "$srctree/scripts/rapido/Makefile"; do
	[ "$settings_bin" -nt "$f" ] && continue
	make -s -f "$srctree/scripts/rapido/Makefile" obj="${settings_bin%/*}" \
		srctree="$srctree" objtree="$objtree" "$settings_bin" >&2 ||
		die "building rapido-settings failed (above)"
	break
done
declare -A rapido_cfg=()
mapfile -d '' recs < <("$settings_bin" --lab "$srctree/Kconfig.rapido" \
	-c "$objtree/.rapido.config")
[ ${#recs[@]} -gt 0 ] && [ "${recs[-1]}" = "END=" ] || exit $EX_RAPIDO
for rec in "${recs[@]}"; do
	rapido_cfg[${rec%%=*}]=${rec#*=}
done
unset recs rec f

setting() {	# setting NAME
	printf '%s\n' "${rapido_cfg[$1]}"
}

is_uint() {
	case $1 in
	''|*[!0-9]*) return 1 ;;
	esac
}

# The lab's subnet: LAB_NET=a.b.c.d/prefix, the bridge's address. VM N gets
# the host part 100 + N, so the prefix is at most /24.
lab_net=$(setting LAB_NET)
lab_addr=${lab_net%/*}
lab_prefix=${lab_net#*/}
IFS=. read -r o1 o2 o3 o4 extra <<< "$lab_addr"
for o in "$o1" "$o2" "$o3" "$o4"; do
	is_uint "$o" && [ "$o" -le 255 ] && [ -z "$extra" ] ||
		die "LAB_NET='$lab_net': wants an IPv4 address with a prefix, e.g. 192.168.155.1/24"
done
is_uint "$lab_prefix" && [ "$lab_prefix" -ge 8 ] && [ "$lab_prefix" -le 24 ] ||
	die "LAB_NET='$lab_net': the prefix must be /8 to /24 (VM N gets host part 100+N)"
lab_ip=$(((o1 << 24) | (o2 << 16) | (o3 << 8) | o4))
lab_mask=$(((0xffffffff << (32 - lab_prefix)) & 0xffffffff))
host_part=$((lab_ip & ~lab_mask & 0xffffffff))
[ "$host_part" -ge 1 ] && [ "$host_part" -lt $((~lab_mask & 0xffffffff)) ] ||
	die "LAB_NET='$lab_net': wants a host's address, not the network's or its broadcast"
[ "$host_part" -le 100 ] || [ "$host_part" -ge 200 ] ||
	die "LAB_NET='$lab_net': host parts 101-199 are the VMs'"
unset o o1 o2 o3 o4 extra host_part

ip4() {
	echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"
}

lab_network=$(ip4 $((lab_ip & lab_mask)))

# VM N's facts: tap, MAC, address, hostname (the guest side uses these).
vm_tap() {
	echo "rtap$1"
}

vm_mac() {
	printf '52:54:00:72:61:%02x\n' "$1"
}

vm_addr() {
	ip4 $(((lab_ip & lab_mask) + 100 + $1))
}

# Commands in the lab's namespace, with no file descriptor but 0-2: a
# daemon started there must not hold the lab's lock, the caller's tree
# lock or a pipe of whoever ran us.
in_lab() {
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done
		exec ip netns exec "$netns" "$@"
	)
}

lab_exists() {
	[ -e "/run/netns/$netns" ] && in_lab true 2> /dev/null
}

# The pids in the lab's namespace (any process: daemons, QEMU, shells).
lab_pids() {
	[ -e "/run/netns/$netns" ] || return 0
	ip netns pids "$netns" 2> /dev/null
}

# The lab's lock: held by up and down (flock: a killed holder frees it).
lock_lab() {
	mkdir -p "$labdir" && chmod 0700 "$labdir" ||
		die "cannot create '$labdir'"
	exec 9> "$labdir/lock" || die "cannot open '$labdir/lock'"
	flock -w 120 9 ||
		die "'$labdir/lock' is held by another rapido run for 120 s"
}

proc_state() {
	local stat

	{ stat=$(< "/proc/$1/stat"); } 2> /dev/null || return 0
	stat=${stat##*) }
	echo "${stat%% *}"
}

# SIGKILL @pids and wait (up to 5 s) until they are gone.
kill_wait() {
	local p i

	[ $# -gt 0 ] || return 0
	kill -KILL "$@" 2> /dev/null
	for ((i = 0; i < 500; i++)); do
		for p in "$@"; do
			# gone, or a zombie (it left its namespaces already)
			[ -d "/proc/$p" ] && [ "$(proc_state "$p")" != Z ] && break
			p=
		done
		[ -z "$p" ] && return 0
		sleep 0.01
	done
	die "process $p did not exit after SIGKILL"
}
