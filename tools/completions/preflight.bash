# bash completion for preflight. Installed as
# share/bash-completion/completions/preflight.
#
# Subcommands come from 'preflight --help' and each subcommand's options
# from 'preflight help COMMAND', so the completion follows the binary it
# completes for; model ids come from 'preflight models'.

_preflight_commands()
{
    "$1" --help 2>/dev/null | awk '/^commands:/ {on = 1; next} on && /^$/ {exit}
                                   on && $1 != "" {print $1}'
}

_preflight()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion -n =: || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi
    local prog=${words[0]} cmd=""
    local i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -*) ;;
            *) cmd=${words[i]}; break ;;
        esac
    done

    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$(_preflight_commands "$prog") help --help --version" -- "$cur"))
        return
    fi

    case $prev in
        --model)
            COMPREPLY=($(compgen -W "$("$prog" models 2>/dev/null | awk '{print $1}')" -- "$cur"))
            # Ids like cometapi:runwayml/...: ':' splits words in bash.
            declare -F __ltrim_colon_completions >/dev/null && __ltrim_colon_completions "$cur"
            return ;;
        --fit)
            COMPREPLY=($(compgen -W "crop pad none" -- "$cur"))
            return ;;
        --schema|--input|--credentials-file|--token-file|--post-fields)
            COMPREPLY=($(compgen -f -- "$cur"))
            return ;;
        -o|--output|--state-dir)
            COMPREPLY=($(compgen -d -- "$cur"))
            return ;;
    esac

    case $cmd in
        help)
            COMPREPLY=($(compgen -W "$(_preflight_commands "$prog")" -- "$cur"))
            return ;;
    esac

    if [[ $cur == -* ]]; then
        local opts
        opts=$("$prog" help "$cmd" 2>/dev/null | grep -oE '(^|[ ,[])--?[a-z][a-z-]*' |
               tr -d ' ,[' | sort -u)
        COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
        return
    fi
    # FIELD=@PATH: complete the path after the '@'.
    if [[ $cur == *=@* ]]; then
        local head=${cur%%=@*}=@
        COMPREPLY=($(compgen -f -P "$head" -- "${cur#*=@}"))
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
}
complete -F _preflight preflight
