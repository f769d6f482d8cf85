#!/usr/bin/env bash
# The README's first command: build `par`, pack its own executable as this machine's target
# with fresh keys in a temporary folder, then inspect and verify the archive.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product par
par=.build/debug/par
work=$(mktemp -d)
echo "== working in $work"
"$par" create --name "par itself" --vendor example --version 0.1.0 --revision 1 \
    --binary "$par" --directory "$work/keys" --destination "$work/par-itself.par" --compress
"$par" inspect "$work/par-itself.par.gz"
"$par" verify "$work/par-itself.par.gz" --trusted-issuer "$("$par" keys list --directory "$work/keys" -o json \
    | python3 -c 'import json,sys; print(next(k["public_key"] for k in json.load(sys.stdin)["details"] if k["role"]=="account"))')"
"$par" extract "$work/par-itself.par.gz" --destination "$work/par-extracted"
cmp "$par" "$work/par-extracted" && echo "== extracted binary is identical to the original"
