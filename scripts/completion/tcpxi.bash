# bash completion for tcpxi(8)
_tcpxi()
{
	local cur prev words cword
	_init_completion || return
	local commands="plugin attach detach set status apply daemon features stats top snmp"
	local i cmd=""
	for ((i = 1; i < cword; i++)); do
		case "${words[i]}" in
		--instance | --wait) ((i++)) ;;
		-*) ;;
		*) cmd="${words[i]}"; break ;;
		esac
	done
	case "$prev" in
	--config | -c) _filedir toml; return ;;
	--instance | --wait | --interval | --metrics) return ;;
	esac
	case "$cmd" in
	"") COMPREPLY=($(compgen -W "$commands --json --pretty --verbose --instance --wait --version --help" -- "$cur")) ;;
	apply) COMPREPLY=($(compgen -W "--config --dry-run --prune --json --help" -- "$cur")) ;;
	daemon) COMPREPLY=($(compgen -W "--config --prune --detach-on-exit --interval --metrics --help" -- "$cur")) ;;
	plugin) COMPREPLY=($(compgen -W "list show" -- "$cur")) ;;
	attach | detach | set)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--set --unset --all --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(tcpxi plugin list 2>/dev/null | awk 'NR > 1 { print $1 }')" -- "$cur"))
		fi
		;;
	*) COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
	esac
}
complete -F _tcpxi tcpxi
