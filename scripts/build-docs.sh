#!/usr/bin/env bash
# Builds the library documentation (the DocC catalogs of ProviderArchiveKit and PARRegistry)
# with swift-docc-plugin, warnings treated as failures: a broken symbol link or a missing
# topic fails the build. The archives land in .build/plugins/Swift-DocC/outputs/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .build/docs
for target in ProviderArchiveKit PARRegistry PARHost; do
    swift package --allow-writing-to-directory .build/docs generate-documentation --target "$target" \
        --warnings-as-errors --output-path ".build/docs/$target.doccarchive"
    echo "== documentation of $target: .build/docs/$target.doccarchive"
done
