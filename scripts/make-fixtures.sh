#!/usr/bin/env bash
# Regenerates the test fixtures, Tests/Fixtures (see its README.md): small archives written
# by the tools we interoperate with (parcheck.py on NATS nkeys, GNU tar in five formats,
# Python's tarfile in three, our own par) and the crafted ones that once trapped the reader;
# and the fuzzer's lone seeds, Fuzz/corpus (a token, keys, a target). The fuzzer starts
# from both folders. The claims never expire, so the fixtures stay valid.
# Needs a built par (.build/debug/par), python3 with nkeys==0.2.1, GNU tar and gzip.
set -euo pipefail
cd "$(dirname "$0")/.."
par=${PAR:-.build/debug/par}
parcheck=../shared/conformance/parcheck.py
out=Tests/Fixtures
seeds=Fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -f "$out"/*.par "$out"/*.par.gz "$seeds"/*
mkdir -p "$out" "$seeds" "$work/keys" "$work/tree"

# Small binaries keep inputs small, which keeps the fuzzer fast.
printf '\177ELF-linux-provider' > "$work/linux"
printf 'mach-o-provider' > "$work/mac"
printf '\0asm\1\0\0\0' > "$work/world.wasm"
printf '{"type":"object","properties":{"port":{"type":"integer"}}}' > "$work/schema.json"
account=$(python3 "$parcheck" keygen account | head -1)
service=$(python3 "$parcheck" keygen service | head -1)

# The reference's shape, by parcheck (tar-rs headers), plain and gzip.
python3 "$parcheck" make "$out/parcheck.par" --name Seed --vendor fuzz --rev 1 --ver 0.1.0 \
    --lib "x86_64-linux=$work/linux" --lib "aarch64-macos=$work/mac" --wit "$work/world.wasm" \
    --schema "$work/schema.json" --issuer-seed "$account" --subject-seed "$service" >/dev/null
python3 "$parcheck" make "$out/parcheck.par.gz" --name Seed --vendor fuzz \
    --lib "x86_64-linux=$work/linux" --issuer-seed "$account" --subject-seed "$service" --gzip >/dev/null

# Ours, then repacked by GNU tar and Python's tarfile from its unpacked entries.
"$par" create -n Seed -v fuzz -b "$work/linux" -a x86_64-linux -b "$work/mac" -a aarch64-macos \
    --destination "$out/par.par" -i "$account" -s "$service" >/dev/null
"$par" create -n Seed -v fuzz -b "$work/linux" --destination "$out/par.par" --compress -i "$account" -s "$service" >/dev/null
tar -xf "$out/par.par" -C "$work/tree"
for format in ustar gnu pax v7 oldgnu; do
    tar --format="$format" -C "$work/tree" -cf "$out/gnutar-$format.par" claims.jwt x86_64-linux.bin aarch64-macos.bin
done
tar -C "$work/tree" -czf "$out/gnutar-dot.par.gz" .
for format in USTAR GNU PAX; do
    python3 - "$work/tree" "$out/python-$format.par" "$format" <<'PY'
import sys, tarfile
tree, target, fmt = sys.argv[1:]
with tarfile.open(target, "w", format=getattr(tarfile, fmt + "_FORMAT")) as archive:
    for name in ("x86_64-linux.bin", "claims.jwt", "aarch64-macos.bin"):
        archive.add(f"{tree}/{name}", arcname=name)
PY
done

# The crafted archives from the issue: numbers at the edge of 64 bits, and a small bomb.
python3 - "$out" <<'PY'
import gzip, sys
out = sys.argv[1]
def header(name, size_field, kind=b"0"):
    block = bytearray(512)
    block[0:len(name)] = name
    block[100:108] = b"0000644\0"
    block[124:136] = size_field
    block[156:157] = kind
    block[257:265] = b"ustar\x0000"
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)
def entry(name, content, kind=b"0"):
    return header(name, b"%011o\0" % len(content), kind) + content + bytes(-len(content) % 512)
end = bytes(1024)
crafted = {
    "pax-length-2p63": entry(b"PaxHeaders/x", b"9223372036854775807 path=x86_64-linux.bin\n", b"x") + entry(b"x86_64-linux.bin", b"abc") + end,
    "base256-size-2p64": header(b"x86_64-linux.bin", b"\x80\0\0\0" + b"\xff" * 8) + end,
    "pax-size-2p64": entry(b"PaxHeaders/x", b"29 size=18446744073709551615\n", b"x") + header(b"x86_64-linux.bin", b"00000000000\0") + end,
    "bomb-no-claims": header(b"x86_64-linux.bin", b"%011o\0" % (1 << 20)) + bytes(1 << 20) + end,
}
for name, data in crafted.items():
    if name != "bomb-no-claims":
        open(f"{out}/{name}.par", "wb").write(data)
    open(f"{out}/{name}.par.gz", "wb").write(gzip.compress(data, 9))
PY

# Lone inputs for the token and key parsers.
tar -xOf "$out/par.par" claims.jwt > "$seeds/token.jwt"
printf '%s' "$account" > "$seeds/account.seed"
python3 "$parcheck" pubkey "$service" | head -1 | tr -d '\n' > "$seeds/service.pub"
printf 'x86_64-linux' > "$seeds/target.txt"
ls -l "$out" "$seeds"
