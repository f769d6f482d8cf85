#!/usr/bin/env python3
"""A bearer-token front for a registry, for the registry tests: the challenge public
registries use (WWW-Authenticate: Bearer realm=...,service=...,scope=...), a token endpoint
that wants basic credentials, and every authorized request passed to the real registry.

    token-proxy.py UPSTREAM_HOST:PORT USER PASSWORD

Prints its port, serves on 127.0.0.1 until its standard input closes.
"""
import base64
import http.client
import http.server
import json
import os
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quiet_handler import QuietHandler  # noqa: E402

UPSTREAM, USER, PASSWORD = sys.argv[1], sys.argv[2], sys.argv[3]
SERVICE = "par-test-registry"
TOKENS = {}  # token -> scope
LOCK = threading.Lock()


class Handler(QuietHandler):

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/token":
            query = urllib.parse.parse_qs(url.query)
            expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if self.headers.get("Authorization") != expected or query.get("service") != [SERVICE]:
                return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
            token = base64.urlsafe_b64encode(os.urandom(18)).decode()
            with LOCK:
                TOKENS[token] = query.get("scope", [""])[0]
            return self.send(200, json.dumps({"token": token}).encode(), [("Content-Type", "application/json")])
        parts = url.path.split("/")
        repository = "/".join(parts[2:-2]) if len(parts) > 4 else ""
        needed = f"repository:{repository}:pull,push" if repository else ""
        auth = self.headers.get("Authorization", "")
        with LOCK:
            scope = TOKENS.get(auth[7:]) if auth.startswith("Bearer ") else None
        granted = scope is not None and (not repository or scope.startswith(f"repository:{repository}:"))
        if not granted:
            host = self.headers.get("Host")
            challenge = f'Bearer realm="http://{host}/token",service="{SERVICE}"' + (f',scope="{needed}"' if needed else "")
            body = self.body()  # drain
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', [("WWW-Authenticate", challenge)])
        connection = http.client.HTTPConnection(UPSTREAM, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "connection")}
        connection.request(self.command, self.path, body=self.body(), headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        passed = [(k, v) for k, v in answer.getheaders() if k.lower() not in ("content-length", "connection", "transfer-encoding")]
        self.send(answer.status, data, passed)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()  # until the test process closes our stdin
os._exit(0)
