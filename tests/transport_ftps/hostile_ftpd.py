#!/usr/bin/env python3
"""hostile_ftpd.py - a small plain-FTP server on 127.0.0.1 that misbehaves on
purpose, for the FTPS transport's deadline and error-mapping tests
(test_hostile.c, with ftp:// and allow_insecure). It speaks just enough FTP for
libcurl (login, FEAT, PWD, CWD, TYPE, SIZE, REST, OPTS, EPSV, LIST, MLSD,
STOR, RETR, RNFR/RNTO, MDTM, MKD, DELE, HASH, XSHA256, QUIT) and keeps the
files it is sent in memory.

  --mode trickle-list   a listing's data comes at 2 bytes/s, forever
  --mode endless-list   a listing's data never ends (fast)
  --mode endless-reply  MKD is answered with "257-" lines that never end
  --mode closed-pasv    EPSV and PASV name a port nothing listens on (a firewall)
  --mode refuse-pasv    the first data connection works; later EPSV and PASV
                        are answered "550 Permission denied." (a server that
                        refuses one transfer at PASV time)
  --mode hash           FEAT offers HASH SHA-256 and XSHA256 and answers them
  --mode mlst           FEAT offers MLST (and so MLSD), answered RFC 3659 style
  --mode no-epsv        EPSV is unknown ("500"), PASV works
  --mode plain          behaves

Writes its port to --port-file once listening; exits after --lifetime s.
"""
import argparse
import hashlib
import os
import socket
import socketserver
import threading
import time

FILES = {}
LOCK = threading.Lock()
PASV_COUNT = [0]


class Handler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write((line + "\r\n").encode("utf-8", "surrogateescape"))
        self.wfile.flush()

    def data_conn(self):
        c, _ = self.pasv.accept()
        self.pasv.close()
        self.pasv = None
        return c

    def open_pasv(self):
        mode = self.server.mode
        with LOCK:
            PASV_COUNT[0] += 1
            n = PASV_COUNT[0]
        if mode == "refuse-pasv" and n > 1:
            return None
        self.pasv = socket.socket()
        self.pasv.bind(("127.0.0.1", 0))
        self.pasv.listen(1)
        port = self.pasv.getsockname()[1]
        if mode == "closed-pasv":  # a port nothing listens on
            self.pasv.close()
            self.pasv = None
        return port

    def listing(self, verb):
        mode = self.server.mode
        self.reply("150 Here comes the directory listing.")
        d = self.data_conn()
        try:
            if mode == "trickle-list":
                line = b"-rw-r--r-- 1 u g 5 Jan 02 2020 slow\r\n"
                while True:
                    for i in range(0, len(line), 2):
                        d.sendall(line[i:i + 2])
                        time.sleep(1)
            elif mode == "endless-list":
                block = b"-rw-r--r-- 1 u g 5 Jan 02 2020 endless-entry\r\n" * 20000
                while True:
                    d.sendall(block)
            else:
                with LOCK:
                    names = sorted(FILES)
                for n in names:
                    if verb == "MLSD":
                        d.sendall(("type=file;size=%d;modify=20200913122640; %s\r\n"
                                   % (len(FILES[n]), os.path.basename(n))).encode())
                    else:
                        d.sendall(("-rw-r--r-- 1 u g %d Jan 02 2020 %s\r\n"
                                   % (len(FILES[n]), os.path.basename(n))).encode())
        except OSError:  # the client closed the data connection
            d.close()
            self.reply("426 Failure writing network stream.")
            return
        d.close()
        self.reply("226 Directory send OK.")

    def feat(self):
        lines = ["211-Features:", " EPSV", " MDTM", " PASV", " REST STREAM", " SIZE", " UTF8"]
        if self.server.mode == "hash":
            lines += [" HASH SHA-1;SHA-256*;MD5", " XSHA256"]
        if self.server.mode == "mlst":
            lines += [" MLST type*;size*;modify*;"]
        for ln in lines:
            self.reply(ln)
        self.reply("211 End")

    def digest(self, verb, arg):
        with LOCK:
            body = FILES.get(arg)
        if body is None:
            self.reply("550 %s: No such file or directory" % arg)
        elif verb == "HASH":
            self.reply("213 SHA-256 0-%d %s %s" % (max(len(body) - 1, 0),
                                                    hashlib.sha256(body).hexdigest(), arg))
        else:
            self.reply("213 " + hashlib.sha256(body).hexdigest())

    def handle(self):
        self.pasv = None
        self.rnfr = None
        self.reply("220 hostile_ftpd ready")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "surrogateescape").rstrip("\r\n")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if not self.command(verb, arg):
                return

    def command(self, verb, arg):
        mode = self.server.mode
        if verb == "USER":
            self.reply("331 Please specify the password.")
        elif verb == "PASS":
            self.reply("230 Login successful.")
        elif verb == "FEAT":
            self.feat()
        elif verb == "PWD":
            self.reply('257 "/" is the current directory')
        elif verb in ("CWD", "TYPE", "OPTS", "PBSZ", "PROT", "NOOP"):
            if verb == "CWD" and arg in FILES:
                self.reply("550 Failed to change directory.")
            elif verb == "OPTS" and arg.upper().startswith("HASH") and mode != "hash":
                self.reply("501 Option not understood.")
            else:
                self.reply("250 OK." if verb == "CWD" else "200 OK.")
        elif verb == "SIZE":
            with LOCK:
                body = FILES.get(arg)
            self.reply("550 Could not get file size." if body is None else "213 %d" % len(body))
        elif verb == "MDTM":
            self.reply("213 20200913122640" if " " not in arg else "213 File modification time set.")
        elif verb == "REST":
            self.reply("350 Restart position accepted (%s)." % arg)
        elif verb == "EPSV" and mode == "no-epsv":
            self.reply("500 Unknown command.")
        elif verb == "EPSV":
            port = self.open_pasv()
            if port is None:
                self.reply("550 Permission denied.")
            else:
                self.reply("229 Entering Extended Passive Mode (|||%d|)" % port)
        elif verb == "PASV":
            port = self.open_pasv()
            if port is None:
                self.reply("550 Permission denied.")
            else:
                self.reply("227 Entering Passive Mode (127,0,0,1,%d,%d)." % (port >> 8, port & 255))
        elif verb in ("LIST", "MLSD", "NLST"):
            self.listing(verb)
        elif verb == "STOR":
            self.reply("150 Ok to send data.")
            d = self.data_conn()
            chunks = []
            while True:
                b = d.recv(65536)
                if not b:
                    break
                chunks.append(b)
            d.close()
            with LOCK:
                FILES[arg] = b"".join(chunks)
            self.reply("226 Transfer complete.")
        elif verb == "RETR":
            with LOCK:
                body = FILES.get(arg)
            if body is None:
                if self.pasv:
                    self.pasv.close()
                    self.pasv = None
                self.reply("550 Failed to open file.")
            else:
                self.reply("150 Opening BINARY mode data connection.")
                d = self.data_conn()
                d.sendall(body)
                d.close()
                self.reply("226 Transfer complete.")
        elif verb == "RNFR":
            self.rnfr = arg
            self.reply("350 Ready for RNTO." if arg in FILES else "550 RNFR command failed.")
        elif verb == "RNTO":
            with LOCK:
                if self.rnfr in FILES:
                    FILES[arg] = FILES.pop(self.rnfr)
                    self.reply("250 Rename successful.")
                else:
                    self.reply("550 Rename failed.")
        elif verb == "MKD":
            if mode == "endless-reply":
                try:
                    while True:
                        self.reply("257-" + "x" * 1000)
                except OSError:
                    return False
            self.reply('257 "%s" created' % arg)
        elif verb == "DELE":
            with LOCK:
                FILES.pop(arg, None)
            self.reply("250 Delete operation successful.")
        elif verb == "MLST" and mode == "mlst":
            with LOCK:
                body = FILES.get(arg)
            if body is None:
                self.reply("550 No such file or directory.")
            else:
                self.reply("250-Listing " + arg)
                self.reply(" type=file;size=%d;modify=20200913122640; %s" % (len(body), arg))
                self.reply("250 End")
        elif verb in ("HASH", "XSHA256") and mode == "hash":
            self.digest(verb, arg)
        elif verb == "QUIT":
            self.reply("221 Goodbye.")
            return False
        else:
            self.reply("502 Command not implemented.")
        return True


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="plain")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--lifetime", type=float, default=120)
    a = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.mode = a.mode
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    time.sleep(a.lifetime)


if __name__ == "__main__":
    main()
