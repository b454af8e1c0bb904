# SPDX-License-Identifier: GPL-2.0
#
# bash completion of rapido's make goals, installed with the drop-in
# (scripts/rapido/install copies scripts/rapido/). In a kernel tree that
# has rapido:
#
#   . scripts/rapido/rapido-completion.bash     # or from ~/.bashrc
#   make rapido-<TAB>          the goals (as make rapido-help lists them)
#   make rapido-test PROFILE=<TAB>             the tree's profiles
#   make rapido-test PROFILES='simple k<TAB>   each word of the list
#   make rapido-test M<TAB>    rapido's variables (rapido-settings --names)
#
# make -C <tree> is followed. Anything else goes to the completion make
# had before (bash-completion's _make), else to file names.

# The tree make runs in: the last -C, else here.
_rapido_tree() {
	local i w tree=.

	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-C|--directory) tree=${COMP_WORDS[i + 1]:-.} ;;
		-C*) tree=${w#-C} ;;
		--directory=*) tree=${w#--directory=} ;;
		esac
	done
	tree=${tree/#\~/$HOME}
	printf '%s' "$tree"
}

# rapido's goals, from its own help (the one list of them).
_rapido_goals() {
	local tree=$1 line

	"$tree/scripts/rapido/rapido" help 2>/dev/null | while read -r line; do
		case $line in
		rapido-*) echo "${line%% *}" ;;
		esac
	done
}

_rapido_profiles() {
	local d

	for d in "$1"/tools/testing/rapido/profiles/*/manifest; do
		[ -f "$d" ] || continue
		d=${d%/manifest}
		echo "${d##*/}"
	done
}

# rapido's variables, from rapido-settings' table (built on the first run).
_rapido_vars() {
	local tree=$1 bin n

	for bin in "$tree/.rapido/bin/rapido-settings" \
		   "${KBUILD_OUTPUT:-/nonexistent}/.rapido/bin/rapido-settings"; do
		[ -x "$bin" ] || continue
		for n in $("$bin" --names 2>/dev/null); do
			echo "$n="
		done
		return
	done
	echo PROFILE=
}

# The word being completed as the command line has it: bash splits
# PROFILE=s at the = (COMP_WORDBREAKS) and PROFILES='a b at the blank.
_rapido_word() {
	local line=${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}} rest q

	_rapido_w=${line##*[[:space:]]}
	case $line in
	*PROFILES=[\'\"]*)
		rest=${line##*PROFILES=}
		q=${rest:0:1}
		[[ ${rest:1} == *"$q"* ]] || _rapido_w=PROFILES=$rest ;;
	esac
}

_rapido_make() {
	local cur=${COMP_WORDS[COMP_CWORD]} tree pre val words last w strip

	tree=$(_rapido_tree)
	if [ ! -f "$tree/Makefile.rapido" ]; then
		_rapido_make_other "$@"
		return
	fi
	[ -n "${COMP_LINE+set}" ] || local COMP_LINE="${COMP_WORDS[*]}"
	_rapido_word
	w=$_rapido_w
	case $w in
	PROFILE=*|PROFILES=*|[A-Z]*)
		_rapido_complete "$tree" "$w"
		# bash replaces only its own word: what it split off before
		# it (PROFILE=, a quote and the list) is not part of it
		strip=${w%"$cur"}
		[ "$strip" = "$w" ] && strip=
		COMPREPLY=("${COMPREPLY[@]#"$strip"}")
		[ ${#COMPREPLY[@]} -gt 0 ] || _rapido_make_other "$@"
		return 0 ;;
	esac
	case $cur in
	rapido-*)
		mapfile -t COMPREPLY < <(compgen -W "$(_rapido_goals "$tree")" \
			-- "$cur")
		;;
	*)
		_rapido_make_other "$@"
		[ -n "$cur" ] && [ "${cur#r}" = "$cur" ] ||
			mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -W \
				"$(_rapido_goals "$tree")" -- "$cur")
		;;
	esac
	return 0
}

# The whole words for $2 (PROFILE=..., PROFILES=..., a variable's name).
_rapido_complete() {
	local tree=$1 w=$2 val last pre

	case $w in
	PROFILE=*)
		val=${w#PROFILE=}
		mapfile -t COMPREPLY < <(compgen -P PROFILE= \
			-W "$(_rapido_profiles "$tree")" -- "$val")
		;;
	PROFILES=*)
		val=${w#PROFILES=}
		val=${val#[\'\"]}
		last=${val##* }
		pre=${w%"$last"}
		mapfile -t COMPREPLY < <(compgen -P "$pre" \
			-W "$(_rapido_profiles "$tree")" -- "$last")
		compopt -o nospace 2>/dev/null
		;;
	*=*)
		COMPREPLY=()
		;;
	*)
		mapfile -t COMPREPLY < <(compgen -W "$(_rapido_vars "$tree")" \
			-- "$w")
		compopt -o nospace 2>/dev/null
		;;
	esac
}

# make's completion from before this file, if there was one.
_rapido_make_prev=
_rapido_make_other() {
	COMPREPLY=()
	if [ -n "$_rapido_make_prev" ] &&
	   declare -F "$_rapido_make_prev" > /dev/null; then
		"$_rapido_make_prev" "$@"
	else
		mapfile -t COMPREPLY < <(compgen -f -- "${COMP_WORDS[COMP_CWORD]}")
	fi
}

# bash-completion loads make's on first use: load it now, to wrap it.
declare -F _completion_loader > /dev/null && _completion_loader make 2>/dev/null
_rapido_make_prev=$(complete -p make 2>/dev/null |
	sed -n 's/.*-F \([^ ]*\) .*/\1/p')
[ "$_rapido_make_prev" = _rapido_make ] && _rapido_make_prev=
complete -F _rapido_make make
