#!/usr/bin/env python3
"""cutproxy.py - a TCP proxy on 127.0.0.1 that cuts connections, for fault tests.

Forwards every accepted connection to --target HOST:PORT. A connection is cut
(both sides closed abruptly, RST) once --cut-after bytes have gone from the
client to the server on it. --cut-count limits how many connections are cut
(default 1; later connections pass untouched), so a test can cut the first
upload and let the retry through. The listening port is written to --port-file
(written only once listening). Runs until killed, or --lifetime seconds (default
600) so a crashed test never leaves it behind. Never touches non-loopback
addresses.

  cutproxy.py --target 127.0.0.1:2222 --cut-after 5000000 --port-file /tmp/p
"""
import argparse
import os
import selectors
import socket
import struct
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--cut-after", type=int, default=-1, help="bytes client->server before cut; -1 never")
    ap.add_argument("--cut-count", type=int, default=1)
    ap.add_argument("--listen-port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--lifetime", type=float, default=600)
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)
    if not host.startswith("127.") and host not in ("localhost", "::1"):
        sys.exit("cutproxy: loopback targets only")
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.listen_port))
    ls.listen(64)
    ls.setblocking(False)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(ls.getsockname()[1]))
    os.rename(tmp, a.port_file)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    cuts_left = a.cut_count
    pairs = {}  # sock -> (peer, state dict)
    deadline = time.time() + a.lifetime

    def close_pair(s, rst):
        st = pairs.get(s)
        if not st:
            return
        peer = st["peer"]
        for x in (s, peer):
            pairs.pop(x, None)
            try:
                sel.unregister(x)
            except Exception:
                pass
            if rst:
                try:
                    x.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            x.close()

    while time.time() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            if s is ls:
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    continue
                u = socket.create_connection((host, int(port)))
                state = {"sent": 0, "cut": False}
                if a.cut_after >= 0 and cuts_left > 0:
                    state["cut"] = True
                    cuts_left -= 1
                pairs[c] = {"peer": u, "up": True, "st": state}
                pairs[u] = {"peer": c, "up": False, "st": state}
                sel.register(c, selectors.EVENT_READ, None)
                sel.register(u, selectors.EVENT_READ, None)
                continue
            info = pairs.get(s)
            if info is None:
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                close_pair(s, False)
                continue
            st = info["st"]
            if info["up"] and st["cut"]:
                room = a.cut_after - st["sent"]
                if len(data) >= room:
                    if room > 0:
                        try:
                            info["peer"].sendall(data[:room])
                        except OSError:
                            pass
                    close_pair(s, True)
                    continue
                st["sent"] += len(data)
            try:
                info["peer"].sendall(data)
            except OSError:
                close_pair(s, True)


if __name__ == "__main__":
    main()
