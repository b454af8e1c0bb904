# SPDX-License-Identifier: GPL-2.0
#
# zram block devices for rapido guests; sourced by autoruns as
# /rapido/lib/zram.sh (installed by lib/zram.manifest). The zram module is
# inserted by rapido-init (the manifest's `kmod zram`), which makes zram0.
#
#   zram_setup SIZE COUNT    make /dev/zram0 .. /dev/zram<COUNT-1>, each of
#                            SIZE bytes (suffixes K M G as zram takes them);
#                            prints the device paths, one a line

zram_setup() {
	_zs_size=$1
	_zs_count=$2
	_zs_i=0

	if [ ! -d /sys/class/zram-control ]; then
		echo "zram: /sys/class/zram-control is missing (is CONFIG_ZRAM set and the zram module loaded?)" >&2
		return 1
	fi
	while [ "$_zs_i" -lt "$_zs_count" ]; do
		if [ ! -e "/sys/block/zram$_zs_i" ]; then
			_zs_id=$(cat /sys/class/zram-control/hot_add) || return 1
			if [ "$_zs_id" != "$_zs_i" ]; then
				echo "zram: hot_add made zram$_zs_id, wanted zram$_zs_i" >&2
				return 1
			fi
		fi
		if ! echo "$_zs_size" > "/sys/block/zram$_zs_i/disksize"; then
			echo "zram: zram$_zs_i: cannot set disksize '$_zs_size' (a size like 512M or 1G; enough guest MEM?)" >&2
			return 1
		fi
		if [ ! -b "/dev/zram$_zs_i" ]; then
			echo "zram: /dev/zram$_zs_i did not appear" >&2
			return 1
		fi
		echo "/dev/zram$_zs_i"
		_zs_i=$((_zs_i + 1))
	done
}
