#!/usr/bin/env bash
# Builds a self-contained `par`: release mode, the Swift runtime and Foundation linked in
# statically (--static-swift-stdlib), stripped, into dist/par. Prints its size and the shared
# libraries it still needs: only the C and C++ runtimes and zlib, on any Debian or Ubuntu.
#
#     scripts/build-release.sh [--check-clean-root]
#
# With --check-clean-root it also proves par runs where no Swift exists: a minimal Debian
# root (debootstrap --variant=minbase, from Debian's packages) gets only dist/par, and par
# --version, keys gen, create, verify and extract run there in a chroot. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

swift build -c release --product par --static-swift-stdlib --scratch-path .build-release
mkdir -p dist
cp .build-release/release/par dist/par
strip dist/par
echo "== dist/par: $(stat -c %s dist/par) bytes ($(du -h dist/par | cut -f1))"
echo "== shared libraries it needs (ldd):"
ldd dist/par | sed 's/ (0x[0-9a-f]*)//' | sed 's/^/   /'
if ldd dist/par | grep -qi swift; then
    echo "build-release: dist/par still needs a Swift library" >&2
    exit 1
fi
# ISA-L is loaded at run time where it is installed, never required.
if ldd dist/par | grep -qi isal; then
    echo "build-release: dist/par links ISA-L; it must load it at run time only" >&2
    exit 1
fi
echo "== $(dist/par --version) here"

# Shell completions and the man page, from the same command definitions as the binary.
mkdir -p dist/completions
dist/par --generate-completion-script bash > dist/completions/par.bash
dist/par --generate-completion-script zsh > dist/completions/_par
dist/par --generate-completion-script fish > dist/completions/par.fish
./scripts/generate-manual.sh dist/par.1
echo "== dist/completions/{par.bash,_par,par.fish}, dist/par.1"

[ "${1:-}" = "--check-clean-root" ] || exit 0

root=$(mktemp -d /tmp/par-clean-root.XXXXXX)
cleanup() {
    umount "$root/proc" 2>/dev/null || true
    rm -rf "$root"
}
trap cleanup EXIT
if ! command -v debootstrap >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
echo "== debootstrap --variant=minbase bookworm (${mirror:-http://deb.debian.org/debian})"
debootstrap --variant=minbase bookworm "$root" "${mirror:-http://deb.debian.org/debian}" >/dev/null
if [ -e "$root/usr/bin/swift" ] || compgen -G "$root/usr/lib/*/libswiftCore*" >/dev/null; then
    echo "build-release: the clean root has Swift in it" >&2
    exit 1
fi
mount -t proc proc "$root/proc" 2>/dev/null || true
cp dist/par "$root/usr/local/bin/par"
run() { chroot "$root" /usr/bin/env -i HOME=/root USER=root PATH=/usr/local/bin:/usr/bin:/bin "$@"; }
echo "== in the clean root:"
# No ISA-L in a minimal root: par falls back to zlib, and says so.
version=$(run par --version)
echo "$version"
if [[ "$version" != *"inflate: zlib"* ]]; then
    echo "build-release: par in the clean root does not say it falls back to zlib" >&2
    exit 1
fi
run par keys gen account
run par create -n "Clean Root" -v ci --version 1.0.0 -b /usr/local/bin/par --destination /tmp/clean.par --compress
run par verify /tmp/clean.par.gz
run par extract /tmp/clean.par.gz --destination /tmp/par-extracted
run cmp /usr/local/bin/par /tmp/par-extracted
echo "== par runs in a Debian root without Swift or ISA-L (zlib's inflate): version, keys gen, create, verify, extract"
