"""Starts `par run` the way a careful supervisor would find it started, and reports how it ended.

Usage: start-provider.py MODE RECORD PAR [ARGS...]

The child gets (and writes to RECORD.inherited what it then ignores), before exec, a state par must not pass on: SIGTERM, SIGINT, SIGHUP, SIGUSR1
and SIGCHLD blocked; and SIGHUP and SIGPIPE ignored (as nohup, or a Python parent, leaves
them). A provider started as the host starts one has an empty mask, SIGPIPE at its default
and SIGHUP still ignored (exec keeps what the parent ignored).

MODE is `wait` (print the exit code, minus the signal) or `signal` (wait for RECORD, send
SIGTERM to par's process id, which is the provider's after exec, then print the same).
Extra environment: PAR_TEST_ENV_HEX holds NAME=HEX pairs separated by commas, added as raw
bytes, so a value that is not UTF-8 reaches par unchanged.
"""
import os
import signal
import subprocess
import sys
import time

mode, record, command = sys.argv[1], sys.argv[2], sys.argv[3:]
environment = os.environb.copy()
for pair in os.environ.get("PAR_TEST_ENV_HEX", "").split(","):
    if pair:
        name, value = pair.split("=", 1)
        environment[name.encode()] = bytes.fromhex(value)
environment.pop(b"PAR_TEST_ENV_HEX", None)


def surroundings():
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.pthread_sigmask(
        signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGCHLD})
    # What par inherits as ignored (the test runner may ignore more than these two): the
    # provider must have the same, less SIGPIPE.
    with open("/proc/self/status") as status, open(record + ".inherited", "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("SigIgn:")))


child = subprocess.Popen(command, env=environment, preexec_fn=surroundings, stdin=subprocess.DEVNULL)
if mode == "signal":
    deadline = time.monotonic() + 60
    while not os.path.exists(record) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    child.send_signal(signal.SIGTERM)
try:
    print(child.wait(timeout=120))
except subprocess.TimeoutExpired:
    child.kill()
    print("timeout")
