# SPDX-License-Identifier: GPL-2.0
#
# Result reporting for rapido autoruns; sourced as /rapido/lib/report.sh
# (installed by lib/report.manifest).
#
#   tap_summary NAME FILE
#
# Counts the top-level TAP results of FILE ("ok N ..." and "not ok N ...",
# an "ok" with a "# SKIP" directive counted as a skip; the "# "-prefixed
# lines of nested subtests are the tests' own business), prints
#   NAME: N pass, N fail, N skip (of N)
# and a "NAME: FAIL: <line>" line for each failure, and returns 1 when any
# result is "not ok" or there is no result at all, else 0.

tap_summary() {
	_ts_name=$1
	_ts_file=$2
	_ts_skip=$(grep -c '^ok [0-9][0-9]* .*# *SKIP' "$_ts_file")
	_ts_ok=$(grep -c '^ok [0-9]' "$_ts_file")
	_ts_fail=$(grep -c '^not ok [0-9]' "$_ts_file")
	_ts_pass=$((_ts_ok - _ts_skip))
	_ts_all=$((_ts_ok + _ts_fail))
	grep '^not ok [0-9]' "$_ts_file" | sed "s/^/$_ts_name: FAIL: /"
	echo "$_ts_name: $_ts_pass pass, $_ts_fail fail, $_ts_skip skip (of $_ts_all)"
	if [ "$_ts_all" -eq 0 ]; then
		echo "$_ts_name: no TAP result at all" >&2
		return 1
	fi
	[ "$_ts_fail" -eq 0 ]
}
