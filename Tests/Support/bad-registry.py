#!/usr/bin/env python3
"""A registry that misbehaves on purpose, for the registry client's tests.

    bad-registry.py SCENARIO BLOB_FILE LOG_FILE [CERT KEY]

Serves one repository, `bad/provider:1.0.0`, whose single layer is BLOB_FILE, and does what
SCENARIO says (see SCENARIOS). With CERT and KEY it speaks HTTPS. Prints its port (and the
port of a second, "other origin" server), one line: "PORT OTHER_PORT". Every request is
logged to LOG_FILE as a JSON line: which server, method, path, and whether it carried an
Authorization header. Runs until its standard input closes.
"""
import base64
import hashlib
import http.server
import json
import os
import socketserver
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quiet_handler import QuietHandler  # noqa: E402

SCENARIO, BLOB_FILE, LOG_FILE = sys.argv[1:4]
CERT, KEY = (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else (None, None)
BLOB = open(BLOB_FILE, "rb").read()
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
CONFIG = b"{}"
CONFIG_DIGEST = "sha256:" + hashlib.sha256(CONFIG).hexdigest()
LOCK = threading.Lock()
COUNTS = {}
SCENARIOS = {
    "redirect": "blob GET answered 307 to the other server; the registry wants basic auth",
    "http-realm": "401 with a Bearer realm over plain HTTP (run it with CERT and KEY)",
    "endless-manifest": "the manifest never ends",
    "long-blob": "the blob is 100 bytes longer than its descriptor says",
    "short-blob": "the blob is 100 bytes shorter than its descriptor says",
    "stalled-blob": "the blob sends 100 bytes, then nothing",
    "dripping-blob": "the blob sends one byte every second",
    "flaky": "the first manifest GET and the first blob GET answer 503",
    "rate-limited": "the first manifest GET answers 429 with Retry-After: 1",
    "hostile-error": "the manifest GET answers 500 with control characters in its body",
}
assert SCENARIO in SCENARIOS, f"unknown scenario {SCENARIO}: {sorted(SCENARIOS)}"


def declared_size():
    return len(BLOB) + {"long-blob": -100, "short-blob": 100}.get(SCENARIO, 0)


def manifest():
    return json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.wasmcloud.provider.archive.config", "digest": CONFIG_DIGEST, "size": 2},
        "layers": [{"mediaType": "application/vnd.wasmcloud.provider.archive.layer.v1+par",
                    "digest": BLOB_DIGEST, "size": declared_size()}],
    }).encode()


def log(server, handler):
    with LOCK, open(LOG_FILE, "a") as out:
        out.write(json.dumps({"server": server, "method": handler.command, "path": handler.path,
                              "authorization": "Authorization" in handler.headers}) + "\n")


def first_time(key):
    with LOCK:
        COUNTS[key] = COUNTS.get(key, 0) + 1
        return COUNTS[key] == 1


class Registry(QuietHandler):
    other_port = 0

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        log("registry", self)
        if SCENARIO == "redirect" and self.headers.get("Authorization") != "Basic " + base64.b64encode(b"alice:s3cret").decode():
            return self.send(401, b"{}", [("WWW-Authenticate", 'Basic realm="bad"')])
        if SCENARIO == "http-realm" and "Authorization" not in self.headers:
            realm = f"http://127.0.0.1:{self.other_port}/token"
            return self.send(401, b"{}", [("WWW-Authenticate", f'Bearer realm="{realm}",service="bad"')])
        if self.path == "/v2/":
            return self.send(200, b"{}")
        if self.path.startswith("/v2/bad/provider/manifests/"):
            return self.manifest()
        if self.path == f"/v2/bad/provider/blobs/{BLOB_DIGEST}":
            return self.blob()
        return self.send(404, b'{"errors":[{"code":"NOT_FOUND"}]}')

    def manifest(self):
        if SCENARIO == "hostile-error":
            return self.send(500, b"oops\n\x1b[2K\x1b[1Aall good \x1b[8mhidden\x9b")
        if SCENARIO == "flaky" and first_time("manifest"):
            return self.send(503, b"busy")
        if SCENARIO == "rate-limited" and first_time("manifest"):
            return self.send(429, b"slow down", [("Retry-After", "1")])
        if SCENARIO == "endless-manifest":
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                self.wfile.write(b'{"schemaVersion":2,"padding":"')
                while True:
                    self.wfile.write(chunk)
            except OSError:
                return
        self.send(200, manifest(), [("Content-Type", "application/vnd.oci.image.manifest.v1+json")])

    def blob(self):
        if SCENARIO == "redirect":
            return self.send(307, b"", [("Location", f"http://127.0.0.1:{self.other_port}/blob")])
        if SCENARIO == "flaky" and first_time("blob"):
            return self.send(503, b"busy")
        if SCENARIO in ("stalled-blob", "dripping-blob"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(BLOB)))
            self.end_headers()
            try:
                if SCENARIO == "stalled-blob":
                    self.wfile.write(BLOB[:100])
                    self.wfile.flush()
                    time.sleep(3600)
                for index in range(len(BLOB)):
                    self.wfile.write(BLOB[index:index + 1])
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                return
        self.send(200, BLOB, [("Content-Type", "application/octet-stream")])


class Other(QuietHandler):
    """The other origin: serves the blob (wanting no credentials) and a token endpoint."""

    def do_GET(self):
        log("other", self)
        self.send(200, BLOB if self.path.startswith("/blob") else json.dumps({"token": "t0ken"}).encode())


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


other = Server(("127.0.0.1", 0), Other)
Registry.other_port = other.server_address[1]
registry = Server(("127.0.0.1", 0), Registry)
if CERT:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CERT, KEY)
    registry.socket = context.wrap_socket(registry.socket, server_side=True)
for server in (registry, other):
    threading.Thread(target=server.serve_forever, daemon=True).start()
print(registry.server_address[1], other.server_address[1], flush=True)
sys.stdin.read()
