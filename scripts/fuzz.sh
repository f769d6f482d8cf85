#!/usr/bin/env bash
# Builds the fuzz target (Fuzz/, libFuzzer + AddressSanitizer, release) and runs it on the
# seed corpus for SECONDS (default 60), in fork mode: one job per core, each a process of its
# own that LeakSanitizer checks when it ends, so a thread or buffer that outlives the call
# that made it is found. Fails on any crash, leak, input that takes over 10 s, or RSS over
# 512 MB; the input that did it is saved under .build-fuzz/artifacts/.
#
#     scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=.build-fuzz

# lld: gold fails with an internal error linking the instrumented objects.
swift build --package-path Fuzz --scratch-path "$build" -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
binary="$build/release/par-fuzz"

# New inputs go to a scratch corpus; the seeds (the test fixtures and Fuzz/corpus) stay as they are.
corpus="$build/corpus"
mkdir -p "$corpus" "$build/artifacts"
# A Swift trap under ASan hangs in the backtracer unless it is off; ASan's quarantine is
# kept small so the 512 MB limit measures our memory, not the sanitizer's. Leaks count as
# findings, at every job's end.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=64:detect_leaks=1}
jobs=$(nproc 2>/dev/null || echo 2)
log="$build/fuzz.log"
status=0
"$binary" "$corpus" Tests/Fixtures Fuzz/corpus -dict=Fuzz/par.dict -max_total_time="$seconds" -timeout=10 -rss_limit_mb=512 \
    -max_len=65536 -fork="$jobs" -ignore_crashes=0 -ignore_timeouts=0 -ignore_ooms=0 -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$build/artifacts/" >"$log" 2>&1 || status=$?
# A job's leak report ends that job; the fork-mode parent prints its log.
if grep -q 'LeakSanitizer' "$log"; then
    grep -B2 -A30 'LeakSanitizer' "$log" | head -60
    echo "fuzz: LeakSanitizer found memory that outlived a call (see $log)" >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    tail -40 "$log"
    echo "fuzz: par-fuzz found a crash, a timeout or a memory blow-up; the input is in $build/artifacts/" >&2
    exit 1
fi
tail -12 "$log"
echo "fuzz: no crash, timeout or memory blow-up in $seconds s"
