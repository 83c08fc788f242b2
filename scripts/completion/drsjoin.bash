# bash completion for drsjoin(8). Installed as
# /usr/share/bash-completion/completions/drsjoin; works without the
# bash-completion package too (source it).
#
# Options per command are kept in step with 'drsjoin CMD --help' by
# test/integ/completion.sh.

_drsjoin() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local globals="-v --verbose -q --quiet --cacert --proxy --timeout --attempts
		--max-wait --state-dir --cloud --discovery-url --resolve --tcti --config --compact
		--new -h --help -V --version"
	local commands="cookie csr discover join keygen leave nonce prt status token"
	local cmd="" opts="" i

	# The command is the first word that is neither an option nor a value.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--cacert | --proxy | --timeout | --attempts | --max-wait | --state-dir | \
		    --cloud | --discovery-url | --resolve | --tcti | --config) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done

	COMPREPLY=()
	case $prev in
	--cacert | --token-file | --bprt-file | --refresh-token-file | --password-file | --in | --config)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--state-dir)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "$cur"))
		return ;;
	--key-store)
		COMPREPLY=($(compgen -W "tpm software auto" -- "$cur"))
		return ;;
	--join-type)
		COMPREPLY=($(compgen -W "join register" -- "$cur"))
		return ;;
	--cloud)
		COMPREPLY=($(compgen -W "public usgov china" -- "$cur"))
		return ;;
	--nonce)
		COMPREPLY=($(compgen -W "auto require off" -- "$cur"))
		return ;;
	--tcti)
		COMPREPLY=($(compgen -W "device:/dev/tpmrm0 device:/dev/tpm0 swtpm: mssim:" -- "$cur"))
		return ;;
	--proxy | --timeout | --attempts | --max-wait | --discovery-url | --tenant | \
	    --display-name | --target-domain | --resolve | --client-id | --username | --user | \
	    --resource | --scope | --splay)
		return ;;	# free text: nothing to offer
	esac

	case $cmd in
	"")
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$globals" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return ;;
	cookie) opts="--user" ;;
	csr) opts="--no-nonce --in" ;;
	discover) opts="--tenant --token-file --in" ;;
	join) opts="--token-file --bprt-file --refresh-token-file --device-code
		--client-id --tenant --nonce --join-type --display-name --target-domain
		--force --keep-old-device --accept-copied-keys --key-store --no-nonce --in --splay --json" ;;
	keygen) opts="--key-store --in" ;;
	leave) opts="--local-only --if-joined --json" ;;
	nonce) opts="--in" ;;
	prt) opts="--refresh-token-file --device-code --username --password-file --renew --remove --user" ;;
	status) opts="--json --check" ;;
	token) opts="--resource --scope --client-id --user --raw --fresh" ;;
	*) return ;;
	esac
	COMPREPLY=($(compgen -W "$opts -h --help" -- "$cur"))
}
complete -F _drsjoin drsjoin
