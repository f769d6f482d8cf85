#!/usr/bin/env python3
"""Times `par` against the standard tools on the same input, in one run.

    scripts/benchmark.py            # the full run: 100 MB input, 1 GiB memory rows, 5 runs each
    scripts/benchmark.py --quick    # CI: small input, one run, debug build; checks it all works

Each row runs ours and the baseline alternately, takes the median wall time, and reads
the peak RSS of our process (wait4). The input is real machine code: executables of the
Swift toolchain (or /usr/bin), concatenated in name order, so it compresses about 2.5:1.

The reading rows (verify, extract) run par with each inflate backend, ISA-L (when
libisal.so.2 loads) and zlib (PAR_INFLATE=zlib), beside the best standard tools: ISA-L's
igzip piped to openssl's SHA-256 or to tar.
"""
import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = f"{platform.machine().replace('arm64', 'aarch64')}-{'macos' if sys.platform == 'darwin' else 'linux'}"


def machine_code(size, path):
    """Writes `size` bytes of concatenated executables to `path`, deterministically."""
    swift = shutil.which("swift")
    folders = [os.path.dirname(os.path.realpath(swift))] if swift else []
    folders.append("/usr/bin")
    written = 0
    with open(path, "wb") as out:
        for folder in folders:
            for name in sorted(os.listdir(folder)):
                file = os.path.join(folder, name)
                if not os.path.isfile(file) or os.path.islink(file):
                    continue
                with open(file, "rb") as f:
                    if f.read(4) != b"\x7fELF":
                        continue
                    f.seek(0)
                    written = copy_some(f, out, written, size)
                if written >= size:
                    return
    if written < size:
        sys.exit(f"benchmark: found only {written} bytes of executables")


def copy_some(source, out, written, size):
    """Copies from source to out in 1 MiB pieces until size bytes are written in all or the
    source ends; returns the new count."""
    while written < size:
        piece = source.read(min(1 << 20, size - written))
        if not piece:
            break
        out.write(piece)
        written += len(piece)
    return written


def repeat_file(source, size, path):
    # In chunks: the children's peak RSS (wait4) includes this process's at fork time, so
    # this script must stay small.
    with open(path, "wb") as out:
        written = 0
        while written < size:
            with open(source, "rb") as f:
                written = copy_some(f, out, written, size)


def run(command, cwd, env=None):
    """Runs a command; returns (seconds, peak RSS in bytes). The RSS is the child's own peak,
    or this script's at fork time if larger (Linux keeps it across exec): an upper bound."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               shell=isinstance(command, str), env=env)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    err = process.stderr.read().decode(errors="replace")
    if process.returncode != 0:
        sys.exit(f"benchmark: {command} failed ({process.returncode}): {err.strip()}")
    rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return elapsed, rss


def measure(ours, theirs, runs, cwd, before=None):
    """Median times of both commands, run alternately, and our peak RSS."""
    our_times, their_times, rss = [], [], 0
    for _ in range(runs):
        if before:
            before()
        seconds, peak = run(ours, cwd)
        our_times.append(seconds)
        rss = max(rss, peak)
        if theirs is not None:
            if before:
                before()
            their_times.append(run(theirs, cwd)[0])
    return statistics.median(our_times), (statistics.median(their_times) if their_times else None), rss


ZLIB = dict(os.environ, PAR_INFLATE="zlib")


def measure_backends(ours, theirs, runs, cwd, before=None):
    """Median times of par with ISA-L (the default where it loads), par with zlib, and the
    standard tool, run in turn; the larger peak RSS of the two par runs."""
    isal_times, zlib_times, their_times, rss = [], [], [], 0
    prepare = before or (lambda: None)
    for _ in range(runs):
        prepare()
        seconds, peak = run(ours, cwd)
        isal_times.append(seconds)
        rss = max(rss, peak)
        prepare()
        seconds, peak = run(ours, cwd, ZLIB)
        zlib_times.append(seconds)
        rss = max(rss, peak)
        if theirs is not None:
            prepare()
            their_times.append(run(theirs, cwd)[0])
    median = statistics.median
    return median(isal_times), median(zlib_times), (median(their_times) if their_times else None), rss


def start_registry(folder):
    """Starts Debian's docker-registry on a free loopback port, storing in `folder`; returns
    the process and its address."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.makedirs(folder, exist_ok=True)
    config = os.path.join(folder, "config.yml")
    with open(config, "w") as out:
        out.write(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {folder}/data\n"
                  f"http:\n  addr: 127.0.0.1:{port}\n")
    process = subprocess.Popen(["docker-registry", "serve", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as client:
            if client.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"127.0.0.1:{port}"
        time.sleep(0.05)
    process.kill()
    sys.exit("benchmark: docker-registry did not start")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small input, one run, debug build (for CI)")
    parser.add_argument("--runs", type=int, help="runs per row (default 5, quick 1)")
    parser.add_argument("--configuration", choices=["debug", "release"], help="build (default release, quick debug)")
    args = parser.parse_args()
    runs = args.runs or (1 if args.quick else 5)
    configuration = args.configuration or ("debug" if args.quick else "release")
    size = 8_000_000 if args.quick else 100_000_000
    big_size = 64 << 20 if args.quick else 1 << 30
    run_size = 8_000_000 if args.quick else 50_000_000
    big_run_size = 64 << 20 if args.quick else 500_000_000

    for tool in ("tar", "gzip", "sha256sum", "openssl", "cc", "igzip", "skopeo", "docker-registry"):
        if not shutil.which(tool):
            sys.exit(f"benchmark: {tool} is needed")
    for product in ("par", "par-bench"):
        subprocess.run(["swift", "build", "-c", configuration, "--product", product], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    bin_dir = subprocess.run(["swift", "build", "-c", configuration, "--show-bin-path"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
    par = os.path.join(bin_dir, "par")
    bench = os.path.join(bin_dir, "par-bench")

    work = tempfile.mkdtemp(prefix="par-bench-")
    try:
        binary = os.path.join(work, "provider")
        machine_code(size, binary)
        keys = os.path.join(work, "keys")
        subprocess.run([par, "keys", "generate", "account", "--name", "bench", "-d", keys], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([par, "keys", "generate", "service", "--name", "bench", "-d", keys], check=True, stdout=subprocess.DEVNULL)
        signing = ["-i", os.path.join(keys, "bench_account.nk"), "-s", os.path.join(keys, "bench_service.nk"), "-d", keys]
        create = [par, "create", "-n", "bench", "-v", "bench", "-b", binary, "-a", TARGET] + signing

        subprocess.run(create + ["--destination", "plain.par"], cwd=work, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(create + ["--destination", "packed.par", "--compress"], cwd=work, check=True, stdout=subprocess.DEVNULL)
        # A tar with the binary under its archive name, for tar's own extraction.
        entry = f"{TARGET}.bin"
        os.link(binary, os.path.join(work, entry))

        rows = []
        backend_rows = []
        inflate = subprocess.run([par, "--version"], check=True, capture_output=True, text=True).stdout.strip()

        def row(job, ours, theirs, target, unit_bytes=size, before=None):
            ours_s, theirs_s, rss = measure(ours, theirs, runs, work, before)
            rows.append((job, ours_s, theirs_s, rss, target, unit_bytes))

        def backend_row(job, ours, theirs, tool, target, unit_bytes=size, before=None):
            isal_s, zlib_s, theirs_s, rss = measure_backends(ours, theirs, runs, work, before)
            backend_rows.append((job, isal_s, zlib_s, theirs_s, tool, rss, target, unit_bytes))

        os.makedirs(os.path.join(work, "tar-out"), exist_ok=True)

        def remove(*names):
            # Each writer starts with its output absent, as a fresh extraction does: replacing a
            # 100 MB file first frees the old one, which costs the file system more than the write.
            def remove_all():
                for name in names:
                    if os.path.exists(os.path.join(work, name)):
                        os.unlink(os.path.join(work, name))
            return remove_all

        backend_row("verify gzip archive", [par, "verify", "packed.par.gz"],
                    "igzip -dc packed.par.gz | openssl dgst -sha256", "igzip -dc | openssl dgst -sha256", "<= 0.75")
        backend_row("extract native target (gzip)",
                    [par, "extract", "packed.par.gz", "-t", TARGET, "--destination", "out.bin"],
                    f"igzip -dc packed.par.gz | tar -x -C tar-out -f - {entry}", "igzip -dc | tar -x TARGET", "<= 0.8",
                    before=remove("out.bin", os.path.join("tar-out", entry)))
        backend_row("verify gzip archive (vs gzip -dc | sha256sum)", [par, "verify", "packed.par.gz"],
                    "gzip -dc packed.par.gz | sha256sum", "gzip -dc | sha256sum", "<= 1.0")
        row("verify plain archive", [par, "verify", "plain.par"], ["openssl", "dgst", "-sha256", binary], "<= 1.1")
        row("create gzip archive", create + ["--destination", "new.par", "--compress"], f"gzip -9 -c {binary} > new.gz",
            "time <= 0.3")
        # A binary left alone for a couple of seconds, as a build's output is by the time it is
        # packed: create then reads it once (one changed more recently is read twice).
        time.sleep(2.5)
        row("create plain archive", create + ["--destination", "new.par"], ["tar", "-cf", "new.tar", entry], "<= 1.3",
            before=remove("new.par", "new.tar"))
        ours_size = os.path.getsize(os.path.join(work, "new.par.gz"))
        gzip_size = os.path.getsize(os.path.join(work, "new.gz"))

        big = os.path.join(work, "big")
        repeat_file(binary, big_size, big)
        big_create = [par, "create", "-n", "big", "-v", "bench", "-b", big, "-a", TARGET] + signing
        row(f"create gzip, {big_size >> 20} MiB target", big_create + ["--destination", "big.par", "--compress"], None,
            "RSS <= 64 MiB", big_size)
        backend_row(f"verify gzip, {big_size >> 20} MiB target", [par, "verify", "big.par.gz"], None, "-",
                    "RSS <= 64 MiB", big_size)
        backend_row(f"extract gzip, {big_size >> 20} MiB target",
                    [par, "extract", "big.par.gz", "-t", TARGET, "--destination", "big.out"], None, "-", "RSS <= 64 MiB",
                    big_size, before=remove("big.out"))

        # par run: a provider that exits at once, padded with machine code to its size (an ELF
        # runs whatever follows it), started from the cache warm, against hashing it with
        # openssl and running it; and a large one, cold and warm, for memory.
        def provider_archive(name, padded_size, padding_source):
            exe = os.path.join(work, name)
            with open(exe + ".c", "w") as source:
                source.write("int main(void) { return 0; }\n")
            subprocess.run(["cc", "-O1", "-o", exe, exe + ".c"], check=True)
            with open(exe, "ab") as out, open(padding_source, "rb") as padding:
                copy_some(padding, out, os.path.getsize(exe), padded_size)
            os.chmod(exe, 0o755)
            subprocess.run([par, "create", "-n", name, "-v", "bench", "-b", exe, "-a", TARGET, "--destination", name + ".par"]
                           + signing, cwd=work, check=True, stdout=subprocess.DEVNULL)
            return exe

        cache = os.path.join(work, "cache")
        exe = provider_archive("exits", run_size, binary)
        run_warm = [par, "run", "exits.par", "--cache-dir", cache]
        subprocess.run(run_warm, cwd=work, check=True)
        row(f"par run, warm, {run_size // 1_000_000} MB provider", run_warm, f"openssl dgst -sha256 {exe} >/dev/null && {exe}",
            "<= 1.5", run_size)
        provider_archive("big-exits", big_run_size, big)
        run_big = [par, "run", "big-exits.par", "--cache-dir", cache]
        row(f"par run, cold, {big_run_size >> 20} MiB provider", run_big, None, "RSS <= 64 MiB", big_run_size,
            before=lambda: shutil.rmtree(cache, ignore_errors=True))
        row(f"par run, warm, {big_run_size >> 20} MiB provider", run_big, None, "RSS <= 64 MiB", big_run_size)

        # par cp of a four-slice index between two registries, against skopeo copy --all
        # --preserve-digests of the same index, each into a fresh repository every run (and
        # skopeo's blob cache emptied, so it cannot mount what an earlier run sent).
        registries = [start_registry(os.path.join(work, name)) for name in ("source-registry", "destination-registry")]
        try:
            sliced = [par, "create", "-n", "sliced", "-v", "bench", "-b", binary, "-a", "x86_64-linux",
                      "--destination", "sliced.par", "--compress"] + signing
            subprocess.run(sliced, cwd=work, check=True, stdout=subprocess.DEVNULL)
            for target in ("aarch64-linux", "x86_64-macos", "aarch64-macos"):
                subprocess.run([par, "insert", "sliced.par.gz", "-b", binary, "-a", target] + signing, cwd=work, check=True,
                               stdout=subprocess.DEVNULL)
            source = f"{registries[0][1]}/bench/sliced:1.0.0"
            subprocess.run([par, "push", source, "sliced.par.gz", "--insecure", "--platform-slices"], cwd=work, check=True,
                           stdout=subprocess.DEVNULL)
            copies = iter(range(1_000_000))
            destination = registries[1][1]

            def fresh():
                number = next(copies)
                for cache in ("/var/lib/containers/cache", os.path.expanduser("~/.local/share/containers/cache")):
                    shutil.rmtree(cache, ignore_errors=True)
                with open(os.path.join(work, "copy-number"), "w") as out:
                    out.write(str(number))

            ours = f"{par} cp {source} {destination}/par-$(cat copy-number)/sliced:1.0.0 --insecure"
            theirs = (f"skopeo copy -q --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false "
                      f"docker://{source} docker://{destination}/skopeo-$(cat copy-number)/sliced:1.0.0")
            sliced_size = os.path.getsize(os.path.join(work, "sliced.par.gz"))
            row("cp 4-slice index, registry to registry", ours, theirs, "<= 1.5", sliced_size, before=fresh)
        finally:
            for process, _ in registries:
                process.kill()
                process.wait()

        library = subprocess.run([bench, binary, "--runs", str(max(1, min(runs, 3)))], check=True, capture_output=True,
                                 text=True).stdout
        openssl_s, _ = run(["openssl", "dgst", "-sha256", binary], work)

        print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, {memory_gib():.0f} GiB; build: {configuration}; "
              f"input: {size / 1e6:.0f} MB of executables; median of {runs} run(s); {inflate}")
        print()
        print("| job | par, ISA-L | par, zlib | standard tool | tool | ISA-L/tool | zlib/tool | target | peak RSS (par) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for job, isal_s, zlib_s, theirs_s, tool, rss, target, unit in backend_rows:
            theirs_text = f"{theirs_s:.3f} s" if theirs_s else "-"
            isal_ratio = f"{isal_s / theirs_s:.2f}" if theirs_s else "-"
            zlib_ratio = f"{zlib_s / theirs_s:.2f}" if theirs_s else "-"
            print(f"| {job} | {isal_s:.3f} s ({unit / 1e6 / isal_s:.0f} MB/s) | {zlib_s:.3f} s | {theirs_text} | `{tool}` | "
                  f"{isal_ratio} | {zlib_ratio} | {target} | {rss / (1 << 20):.1f} MiB |")
        print()
        print("| job | ours | baseline | ours/theirs | target | ours MB/s | peak RSS (ours) |")
        print("|---|---|---|---|---|---|---|")
        for job, ours_s, theirs_s, rss, target, unit in rows:
            ratio = f"{ours_s / theirs_s:.2f}" if theirs_s else "-"
            theirs_text = f"{theirs_s:.3f} s" if theirs_s else "-"
            print(f"| {job} | {ours_s:.3f} s | {theirs_text} | {ratio} | {target} | {unit / 1e6 / ours_s:.0f} | "
                  f"{rss / (1 << 20):.1f} MiB |")
        print(f"| gzip size, ours (level 6, all cores) / gzip -9 | {ours_size:,} B | {gzip_size:,} B | "
              f"{ours_size / gzip_size:.4f} | size <= 1.01 | | |")
        print()
        print(f"Library (in process, no start-up): {library.strip()}")
        print(f"openssl dgst -sha256 (with process start-up): {size / 1e6 / openssl_s:.0f} MB/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    except (ValueError, OSError):
        return 0


if __name__ == "__main__":
    main()
