#!/usr/bin/env bash
# Checks an installation made by scripts/install.sh under PREFIX as a new user meets it:
# `par --help` runs, `man par` renders par(1) with a section per subcommand, and bash
# completes `par pu` to pull and push, and `par keys ` to the keys subcommands.
set -euo pipefail
prefix=${1:?usage: check-install.sh PREFIX}

"$prefix/bin/par" --help >/dev/null
echo "== par --help runs"

page=$(MANPATH="$prefix/share/man" MANWIDTH=100 man par 2>/dev/null)
for section in create insert inspect verify extract keys push pull; do
    grep -qE "^ +$section( +[A-Z]|$)" <<<"$page" || { echo "check-install: man par has no section for $section" >&2; exit 1; }
done
groff -man -Tutf8 -ww "$prefix/share/man/man1/par.1" >/dev/null 2>"$prefix/groff.log" || true
if [ -s "$prefix/groff.log" ]; then
    echo "check-install: groff warns about par.1:" >&2
    cat "$prefix/groff.log" >&2
    exit 1
fi
rm -f "$prefix/groff.log"
echo "== man par renders, with a section per subcommand"

complete_words() {
    bash -c '
        source "$1"
        line=$2
        read -r -a COMP_WORDS <<<"$line"
        [[ "$line" == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE=$line
        COMP_POINT=${#line}
        COMPREPLY=()
        _par par "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}"
    ' _ "$prefix/share/bash-completion/completions/par" "$1" | sort | tr '\n' ' '
}
pu=$(complete_words "par pu")
[ "$pu" = "pull push " ] || { echo "check-install: 'par pu' completes to '$pu', not pull and push" >&2; exit 1; }
keys=$(complete_words "par keys ")
for word in gen get list generate show; do
    grep -qw -- "$word" <<<"$keys" || { echo "check-install: 'par keys ' does not offer $word ($keys)" >&2; exit 1; }
done
echo "== bash completes 'par pu' to: $pu; 'par keys ' to: $keys"
for file in share/zsh/site-functions/_par share/fish/vendor_completions.d/par.fish; do
    grep -q "pull" "$prefix/$file" || { echo "check-install: $file does not name the subcommands" >&2; exit 1; }
done
echo "== zsh and fish completions installed"
