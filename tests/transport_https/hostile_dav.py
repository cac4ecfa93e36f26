#!/usr/bin/env python3
"""hostile_dav.py - a small WebDAV server on 127.0.0.1 (plain HTTP/1.1) that
misbehaves on purpose, for the https transport's deadline, cap and
server-fact tests. Files live under --root; URLs are /dav/<path>.

Behaviours (combinable):
  --trickle PREFIX    answers under /dav/PREFIX: headers at once, then the body
                      (Content-Length 1 MB) at 2 bytes per second
  --endless PREFIX    a PROPFIND under /dav/PREFIX gets a 207 whose body never
                      ends (as fast as the client reads it)
  --max-body N        a request body over N bytes gets 413 (answered before the
                      body is read, then a lingering close, as Apache does)
  --partial MODE      Content-Range on PUT: "yes" applied, "no" refused (501);
                      with --flip-file F: "yes" while F is absent, else F's
                      content: "refuse" (400, as the server in issue 10.10)
                      or "ignore" (2xx, the file replaced by the chunk)
  --checksum          HEAD and GET send OC-Checksum: SHA256:<hex>
  --redirect PREFIX   anything under /dav/PREFIX: 301 to a Location full of
                      terminal escapes and 4,000 bytes long

Every request is logged to --log as one line: METHOD PATH STATUS BODY-LEN
SENT-BYTES. The listening port goes to --port-file. Runs until killed or
--lifetime seconds. Loopback only.
"""
import argparse
import hashlib
import os
import shutil
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler

A = None
LOCK = threading.Lock()


def log(line):
    with LOCK, open(A.log, "a") as f:
        f.write(line + "\n")


def partial_mode():
    if A.partial != "flip":
        return A.partial
    try:
        with open(A.flip_file) as f:
            return f.read().strip() or "refuse"
    except OSError:
        return "yes"


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def fs(self):
        p = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        if not p.startswith("/dav"):
            return None
        rel = p[4:].strip("/")
        if ".." in rel.split("/"):
            return None
        return os.path.join(A.root, rel) if rel else A.root

    def rel(self):
        return urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)[4:].strip("/")

    def answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        log("%s %s %d %s %d" % (self.command, self.path, status,
                                self.headers.get("Content-Length", "-"), len(body)))

    def body(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def refused_early(self):
        """413 before reading a body over --max-body; True when answered."""
        n = int(self.headers.get("Content-Length", "0") or 0)
        if A.max_body is None or n <= A.max_body:
            return False
        self.close_connection = True
        self.send_response(413)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        log("%s %s 413 %d 0" % (self.command, self.path, n))
        try:  # lingering close: read what the client still sends, briefly
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(2)
            left = n
            while left > 0:
                got = self.connection.recv(min(left, 65536))
                if not got:
                    break
                left -= len(got)
        except OSError:
            pass
        return True

    def trickle(self):
        self.send_response(200 if self.command != "PROPFIND" else 207)
        self.send_header("Content-Length", "1000000")
        self.send_header("Content-Type", "application/xml")
        self.end_headers()
        self.wfile.flush()
        sent = 0
        try:
            if self.command == "PROPFIND":  # valid so far: only slow
                self.wfile.write(b'<?xml version="1.0"?><D:multistatus xmlns:D="DAV:">')
            for _ in range(1000):
                self.wfile.write(b"  ")
                self.wfile.flush()
                sent += 2
                time.sleep(1)
        except OSError:
            pass
        log("%s %s trickle - %d" % (self.command, self.path, sent))
        self.close_connection = True

    def endless(self):
        self.send_response(207)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        piece = (b'<D:response><D:href>/dav/x</D:href><D:propstat><D:prop>'
                 b'<D:displayname>' + b"y" * 900 + b'</D:displayname></D:prop>'
                 b'<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>\n')
        sent = 0
        try:
            self.wfile.write(b'<?xml version="1.0"?><D:multistatus xmlns:D="DAV:">')
            while True:
                self.wfile.write(piece * 16)
                sent += len(piece) * 16
        except OSError:
            pass
        log("%s %s endless - %d" % (self.command, self.path, sent))

    def special(self):
        rel = self.rel()
        if A.redirect and rel.startswith(A.redirect):
            self.body()
            loc = "http://127.0.0.1/\x1b]0;owned\x07\x1b[2J" + "A" * 4000
            self.answer(301, b"", {"Location": loc})
            return True
        if A.trickle and rel.startswith(A.trickle):
            self.trickle()
            return True
        if A.endless and rel.startswith(A.endless) and self.command == "PROPFIND":
            self.endless()
            return True
        return False

    # ---- methods ----
    def do_PROPFIND(self):
        if self.special():
            return
        self.body()
        p = self.fs()
        if p is None or not os.path.exists(p):
            return self.answer(404)
        items = [(self.path, p)]
        if self.headers.get("Depth", "infinity") == "1" and os.path.isdir(p):
            base = self.path.rstrip("/")
            for n in sorted(os.listdir(p)):
                items.append((base + "/" + urllib.parse.quote(n), os.path.join(p, n)))
        out = [b'<?xml version="1.0"?><D:multistatus xmlns:D="DAV:">']
        for href, fp in items:
            st = os.stat(fp)
            rt = b"<D:collection/>" if os.path.isdir(fp) else b""
            ln = b"" if os.path.isdir(fp) else b"<D:getcontentlength>%d</D:getcontentlength>" % st.st_size
            out.append(b"<D:response><D:href>" + href.encode() + b"</D:href><D:propstat><D:prop>"
                       b"<D:resourcetype>" + rt + b"</D:resourcetype>" + ln +
                       b"<D:getlastmodified>" + formatdate(st.st_mtime, usegmt=True).encode() +
                       b"</D:getlastmodified></D:prop><D:status>HTTP/1.1 200 OK</D:status>"
                       b"</D:propstat></D:response>")
        out.append(b"</D:multistatus>")
        self.answer(207, b"".join(out), {"Content-Type": "application/xml"})

    def checksum_headers(self, p):
        if not A.checksum or not os.path.isfile(p):
            return {}
        with open(p, "rb") as f:
            return {"OC-Checksum": "SHA256:" + hashlib.sha256(f.read()).hexdigest()}

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        if self.special():
            return
        p = self.fs()
        if p is None or not os.path.isfile(p):
            return self.answer(404)
        with open(p, "rb") as f:
            data = f.read()
        h = self.checksum_headers(p)
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            a, b = rng[6:].split("-")
            a, b = int(a), min(int(b), len(data) - 1)
            h["Content-Range"] = "bytes %d-%d/%d" % (a, b, len(data))
            return self.answer(206, data[a:b + 1], h)
        self.answer(200, data, h)

    def do_PUT(self):
        if self.special() or self.refused_early():
            return
        p = self.fs()
        cr = self.headers.get("Content-Range")
        mode = partial_mode() if cr else None
        if cr and mode in ("no", "refuse"):
            self.body()
            return self.answer(501 if mode == "no" else 400)
        data = self.body()
        if p is None or not os.path.isdir(os.path.dirname(p)):
            return self.answer(409)
        existed = os.path.exists(p)
        if cr and mode == "yes":
            a = int(cr.split()[1].split("-")[0])
            with open(p, "r+b" if existed else "wb") as f:
                f.seek(a)
                f.write(data)
                f.truncate(a + len(data))
        else:
            with open(p, "wb") as f:
                f.write(data)
        self.answer(204 if existed else 201)

    def do_MKCOL(self):
        self.body()
        p = self.fs()
        if p is None:
            return self.answer(403)
        if os.path.exists(p):
            return self.answer(405)
        if not os.path.isdir(os.path.dirname(p.rstrip("/"))):
            return self.answer(409)
        os.mkdir(p)
        self.answer(201)

    def do_DELETE(self):
        self.body()
        p = self.fs()
        if p is None or not os.path.exists(p):
            return self.answer(404)
        if os.path.isdir(p):
            shutil.rmtree(p)
        else:
            os.unlink(p)
        self.answer(204)

    def do_MOVE(self):
        self.body()
        p = self.fs()
        dest = urllib.parse.unquote(urllib.parse.urlsplit(self.headers.get("Destination", "")).path)
        if p is None or not os.path.exists(p) or not dest.startswith("/dav/"):
            return self.answer(404)
        d = os.path.join(A.root, dest[5:].strip("/"))
        existed = os.path.exists(d)
        if existed and self.headers.get("Overwrite", "T") == "F":
            return self.answer(412)
        if existed and os.path.isdir(d):
            shutil.rmtree(d)
        os.replace(p, d)
        self.answer(204 if existed else 201)


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--trickle")
    ap.add_argument("--endless")
    ap.add_argument("--max-body", type=int)
    ap.add_argument("--partial", default="yes", choices=["yes", "no", "flip"])
    ap.add_argument("--flip-file")
    ap.add_argument("--checksum", action="store_true")
    ap.add_argument("--redirect")
    ap.add_argument("--lifetime", type=float, default=300)
    A = ap.parse_args()
    srv = Server(("127.0.0.1", 0), H)
    tmp = A.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, A.port_file)
    threading.Timer(A.lifetime, lambda: os._exit(0)).start()
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
