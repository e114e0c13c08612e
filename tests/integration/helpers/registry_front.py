#!/usr/bin/env python3
"""A registry front for tests/integration/image_pull_test.cpp, on 127.0.0.1 only.

It proxies /v2/ requests to a real registry (docker-registry) and misbehaves on purpose:
  token     /v2/ needs "Authorization: Bearer T", else 401 with a Bearer challenge; /token gives T
  deny      like token, but no token is ever accepted (a private repository without credentials)
  basic     401 with a Basic challenge
  corrupt   blobs are served with one byte changed (same length)
  mediatype manifests are served with their first layer's media type replaced
  redirect  like token, and blobs answer 307 to a second listener (another port: another origin
            for libcurl), which logs the Authorization header it received and serves the blob
Usage: registry_front.py MODE UPSTREAM PORT_FILE LOG_FILE
"""
import json
import sys
import threading
import urllib.error
import urllib.request
from http.server import HTTPServer, BaseHTTPRequestHandler

MODE, UPSTREAM, PORT_FILE, LOG_FILE = sys.argv[1:5]
TOKEN = "T"
storage_port = 0
log_lock = threading.Lock()


def log(line):
    with log_lock, open(LOG_FILE, "a") as f:
        f.write(line + "\n")


def upstream(path, accept):
    req = urllib.request.Request(UPSTREAM + path, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


class Front(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        log("GET %s auth=%s" % (self.path, self.headers.get("Authorization", "none")))
        if self.path.startswith("/token"):
            return self.send(200, json.dumps({"token": TOKEN, "expires_in": 300}).encode(), [("Content-Type", "application/json")])
        if MODE == "basic":
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                             [("WWW-Authenticate", 'Basic realm="Registry Realm"')])
        if MODE in ("token", "deny", "redirect"):
            if MODE == "deny" or self.headers.get("Authorization") != "Bearer " + TOKEN:
                realm = "http://127.0.0.1:%d/token" % self.server.server_port
                challenge = 'Bearer realm="%s",service="test",scope="repository:test/app:pull"' % realm
                return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                                 [("WWW-Authenticate", challenge), ("Content-Type", "application/json")])
        if MODE == "redirect" and "/blobs/" in self.path:
            return self.send(307, b"", [("Location", "http://127.0.0.1:%d%s" % (storage_port, self.path))])
        status, body, headers = upstream(self.path, self.headers.get("Accept"))
        if status == 200 and MODE == "corrupt" and "/blobs/" in self.path and body:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        if status == 200 and MODE == "mediatype" and "/manifests/" in self.path:
            doc = json.loads(body)
            if "layers" in doc:
                doc["layers"][0]["mediaType"] = "application/x-evil"
                body = json.dumps(doc).encode()
        keep = [(k, headers[k]) for k in ("Content-Type", "Docker-Content-Digest") if headers.get(k)]
        self.send(status, body, keep)


class Storage(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        log("STORAGE %s auth=%s" % (self.path, self.headers.get("Authorization", "none")))
        status, body, _ = upstream(self.path, None)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


storage = HTTPServer(("127.0.0.1", 0), Storage)
storage_port = storage.server_port
threading.Thread(target=storage.serve_forever, daemon=True).start()
front = HTTPServer(("127.0.0.1", 0), Front)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(front.server_port))
import os
os.rename(PORT_FILE + ".tmp", PORT_FILE)
front.serve_forever()
