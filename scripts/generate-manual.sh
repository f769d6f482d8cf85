#!/usr/bin/env bash
# Writes par(1), the manual with a section per subcommand, from the same command definitions
# as the binary (swift-argument-parser's generate-manual plugin), to OUTPUT (default dist/par.1).
set -euo pipefail
cd "$(dirname "$0")/.."
output=${1:-dist/par.1}
# Debug: the plugin builds every product first, and the tests already built them in debug.
swift package plugin generate-manual --configuration debug >/dev/null
generated=$(find .build/plugins/GenerateManual -name par.1 | head -1)
[ -n "$generated" ] || { echo "generate-manual.sh: the plugin wrote no par.1" >&2; exit 1; }
mkdir -p "$(dirname "$output")"
cp "$generated" "$output"
