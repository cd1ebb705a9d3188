# bash completion for lineage-query (issue 20): subcommands, their options, option values.
# Installed by `meson install` as share/bash-completion/completions/lineage-query.
_lineage_query()
{
	local cur prev words cword
	_init_completion 2>/dev/null || {
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD-1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	}
	local subs="sessions containers tree timeline files diff events search"
	local common="--uri --db --format --utc --width --color --help"
	local sess="--session --last"
	local times="--since --until"
	local subtree="--process --pid --command --depth" # issue 29
	local sub="" i
	for ((i = 1; i < cword; i++)); do
		case " $subs " in *" ${words[i]} "*) sub=${words[i]}; break ;; esac
	done
	case $prev in
	--format)
		if [[ $sub == tree ]]; then
			COMPREPLY=($(compgen -W "text json dot" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "text json" -- "$cur"))
		fi
		return ;;
	--color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
	--since|--until)
		COMPREPLY=($(compgen -W "-10m -1h today yesterday now @" -- "$cur")); return ;;
	--path|--path-prefix|--prefix) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--exe) COMPREPLY=($(compgen -c -- "$cur")); return ;;
	--syscall)
		COMPREPLY=($(compgen -W "execve execveat open openat openat2 creat close write \
			rename renameat renameat2 unlink unlinkat chdir fchdir clone clone3 fork \
			vfork exit_group setns unshare pivot_root chroot" -- "$cur")); return ;;
	--uri|--db|--width|--session|--pid|--uid|--key|--argv|--path-glob|--container|--container-b|\
	--process|--command|--depth)
		return ;;
	esac
	if [[ -z $sub ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$common" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$subs" -- "$cur"))
		fi
		return
	fi
	local opts="$common"
	case $sub in
	sessions) ;;
	containers) opts+=" $sess --filter" ;;
	tree) opts+=" $sess $subtree --filter" ;;
	timeline) opts+=" $sess $times $subtree --follow --filter" ;;
	files) opts+=" $sess $subtree --written --read --executed --failed --prefix --path-prefix \
		--unique --filter" ;;
	diff) opts+=" --container --container-b $subtree" ;;
	events) opts+=" $sess $times --pid --syscall --key --path --container" ;;
	search) opts+=" $sess $times --all-sessions --path --path-prefix --path-glob --exe \
		--argv --pid --uid --container --written --follow --filter" ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	elif [[ $sub == tree || $sub == timeline || $sub == files ]]; then
		COMPREPLY=($(compgen -W "host" -- "$cur")) # or a container id, prefix or name
	fi
}
complete -F _lineage_query lineage-query
