#!/usr/bin/env python3
"""seeds_sftp_reply.py - writes the seed corpus of fuzz_sftp_reply into
tests/fuzz/corpus/sftp_reply/ (run it again after changing the harness's
conversation). Each seed: one byte (how the stream is cut into reads), then
what a server sends: VERSION and replies with the ids the harness's
requests get, valid and hostile."""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "sftp_reply")


def s(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">I", len(b)) + b


def pkt(t, body):
    return struct.pack(">IB", len(body) + 1, t) + body


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def version(exts):
    return pkt(2, u32(3) + b"".join(s(k) + s(v) for k, v in exts))


def attrs(size=5, perm=0o100644, mtime=1700000000, ext=()):
    flags = 0x1 | 0x2 | 0x4 | 0x8 | (0x80000000 if ext else 0)
    b = u32(flags) + u64(size) + u32(1000) + u32(100) + u32(perm) + u32(mtime) + u32(mtime)
    if ext:
        b += u32(len(ext)) + b"".join(s(k) + s(v) for k, v in ext)
    return b


def status(i, code, msg="", lang="en"):
    return pkt(101, u32(i) + u32(code) + s(msg) + s(lang))


def handle(i, h=b"h1"):
    return pkt(102, u32(i) + s(h))


def data(i, d):
    return pkt(103, u32(i) + s(d))


def name(i, entries):
    return pkt(104, u32(i) + u32(len(entries)) + b"".join(s(n) + s(l) + a for n, l, a in entries))


def attrs_pkt(i, a):
    return pkt(105, u32(i) + a)


def ext_reply(i, b):
    return pkt(201, u32(i) + b)


EXTS = [("posix-rename@openssh.com", "1"), ("statvfs@openssh.com", "2"),
        ("hardlink@openssh.com", "1"), ("fsync@openssh.com", "1"),
        ("check-file", "md5,sha256"), ("md5-hash", "1")]
LIMITS = EXTS + [("limits@openssh.com", "1")]
STATVFS = b"".join(u64(x) for x in (4096, 4096, 1000, 500, 400, 100, 50, 40, 7, 0, 255))


def conversation():
    """The replies to the harness's requests in order: stat (1), opendir
    (2), readdir (3), readdir (4: EOF), close (5), realpath (6), statvfs
    (7), eight lstats (8-15), then the pipelined run: mkdir d (16), stat
    (17), remove (18), OPEN a (19), LSTAT b.part (20), OPEN b.part for
    reading (21), a's WRITE (22), FSETSTAT (23), fsync (24), FSTAT (25),
    CLOSE (26), b's sample READ (27), a's rename (28), CLOSE of b.part (29),
    OPEN b.part for writing (30), b's WRITE (31), FSETSTAT (32), fsync (33),
    FSTAT (34), CLOSE (35), b's rename (36)."""
    content = bytes([1, 2, 3]) + bytes(2997)
    r = [attrs_pkt(1, attrs(ext=[("user.k", "v")])), handle(2),
         name(3, [(".", "", attrs(perm=0o40755)), ("f.txt", "-rw-r--r-- f", attrs()),
                  ("sub", "drwxr-xr-x sub", attrs(perm=0o40755))]),
         status(4, 1, "EOF"), status(5, 0), name(6, [("/r", "", u32(0))]),
         ext_reply(7, STATVFS)]
    r += [attrs_pkt(i, attrs()) for i in range(8, 16)]
    r += [status(16, 0), status(17, 2, "No such file"), status(18, 2, "No such file"),
          handle(19, b"A"), attrs_pkt(20, attrs(size=1500, perm=0o100600)), handle(21, b"B"),
          status(22, 0), status(23, 0), status(24, 0),
          attrs_pkt(25, attrs(size=3000, perm=0o100600, mtime=1000)), status(26, 0),
          data(27, content[:1500]), status(28, 0), status(29, 0), handle(30, b"C"),
          status(31, 0), status(32, 0), status(33, 0),
          attrs_pkt(34, attrs(size=3000, perm=0o100600, mtime=1000)), status(35, 0),
          status(36, 0)]
    return b"".join(r)


seeds = {
    "conversation": b"\x00" + version(EXTS) + conversation(),
    "conversation-bytewise": b"\x01" + version(EXTS) + conversation(),
    "conversation-limits": b"\x00" + version(LIMITS)
    + ext_reply(1, u64(262144) + u64(261120) + u64(261120) + u64(1019)),
    "version-only": b"\x00" + version([]),
    "version-old": b"\x00" + pkt(2, u32(2)),
    "stat-status": b"\x00" + version(EXTS) + status(1, 3, "Permission denied"),
    "stat-no-message": b"\x00" + version(EXTS) + pkt(101, u32(1) + u32(2)),
    "stat-data-wrong-type": b"\x00" + version(EXTS) + data(1, b"0123456789"),
    "unknown-id": b"\x00" + version(EXTS) + status(99, 0),
    "check-file": b"\x00" + version(EXTS) + ext_reply(1, s("check-file") + s("sha256") + b"\xab" * 32),
    "md5-hash": b"\x00" + version(EXTS) + ext_reply(1, s("md5-hash") + s(b"\x01" * 16)),
    "name-huge-count": b"\x00" + version(EXTS) + attrs_pkt(1, attrs()) + handle(2)
    + pkt(104, u32(3) + u32(0xFFFFFFFF) + b"\x00" * 12),
    "name-slash": b"\x00" + version(EXTS) + attrs_pkt(1, attrs()) + handle(2)
    + name(3, [("a/b", "", u32(0))]),
    "string-overflow": b"\x00" + version(EXTS) + pkt(103, u32(1) + u32(0xFFFFFFF0) + b"x"),
    "handle-too-long": b"\x00" + version(EXTS) + pkt(102, u32(1) + s(b"h" * 300)),
    "frame-too-big": b"\x00" + version(EXTS) + struct.pack(">IB", 0x7FFFFFFF, 101),
    "frame-zero": b"\x00" + version(EXTS) + u32(0),
    "attrs-ext-count": b"\x00" + version(EXTS) + pkt(105, u32(1) + u32(0x80000000) + u32(0x7FFFFFFF)),
}

os.makedirs(out, exist_ok=True)
for k, v in seeds.items():
    with open(os.path.join(out, k), "wb") as f:
        f.write(v)
print("wrote %d seeds to %s" % (len(seeds), out))
