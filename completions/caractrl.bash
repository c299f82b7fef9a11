# bash completion for caractrl                                -*- shell-script -*-
# The candidates come from `caractrl __complete WORDS...`, which knows the verb table and asks
# the server for live names (briefly; silent when it is unreachable).

_caractrl()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    local out
    out=$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
    # "--output=" is split by COMP_WORDBREAKS into "--output" "=": complete after the '='.
    [[ $cur == = ]] && cur=
    if [[ $out == *:files ]]; then
        compopt -o filenames 2>/dev/null
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -- "$cur"))
        return 0
    fi
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "$out" -- "$cur"))
    return 0
}
complete -F _caractrl caractrl
