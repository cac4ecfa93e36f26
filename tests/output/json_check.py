#!/usr/bin/env python3
"""json_check.py - checks JSON lines on stdin against docs/json.md.

Every line must parse (strict: no NaN, no duplicate keys), be an object with a
known "type" and exactly the members documented for it, in that order
(optional members marked '?'); every time is RFC 3339 UTC with milliseconds;
no string is a placeholder ("-"); every "<key>_bytes" is base64 of bytes that
are not UTF-8 and whose U+FFFD rendering is the "<key>" string.
Prints "ok N TYPE=COUNT ..." or the first problem, exit 1.
"""
import base64
import codecs
import json
import re
import sys

# U+FFFD for each byte that is not part of a well-formed sequence (Python's
# "replace" takes a whole broken sequence at once)
codecs.register_error("per_byte", lambda e: ("\ufffd", e.start + 1))

TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
RUN = ["run", "dry_run", "mode", "outcome", "exit_code", "started", "ended", "duration_ms",
       "files_applied", "dirs_applied", "deletes_applied", "moves", "bytes_applied", "item_errors",
       "transferred_files", "transferred_bytes", "failed_files", "failed_bytes", "scanned_files",
       "scanned_dirs", "unchanged", "skipped", "vanished", "code", "code_number", "message"]
SCHEMA = {
    "item": ["type", "path", "path_bytes?", "from?", "from_bytes?", "action", "outcome", "code", "code_number", "class",
             "message", "detail", "attempts", "bytes", "time", "dry_run"],
    "run": ["summary", "type"] + RUN,
    "status": ["type", "job", "conf", "conf_bytes?", "health", "severity", "exit_code", "error",
               "schedule", "schedule_interval_s", "next_run", "last_run", "failing"],
    "check_step": ["type", "step", "status", "detail", "fix"],
    "check": ["summary", "type", "passed", "failed", "warnings", "skipped", "ok", "exit_code"],
    "verify_entry": ["type", "kind", "path", "path_bytes?", "manifest_type", "manifest_size",
                     "manifest_mtime", "remote_type", "remote_size", "remote_mtime",
                     "compared_by", "digest_alg", "expected_digest", "remote_digest", "detail"],
    "verify": ["summary", "type", "identical", "manifest_items", "remote_items", "missing",
               "extra", "different", "temps", "pending", "repaired", "checksum", "read_back",
               "content_compared", "content_different", "content_unchecked", "extra_removed",
               "exit_code"],
}
VERIFY_KINDS = {"missing", "extra", "type", "size", "mtime", "content", "unchecked", "temp",
                "pending", "removed", "remove_failed"}
COMPARED_BY = {None, "server_checksum", "read_back"}
ALGS = {None, "sha256", "sha512", "sha1", "md5", "adler32"}
HEX = re.compile(r"^[0-9a-f]+$")
CHECK_STEPS = {"config valid", "secret files private", "source readable", "DNS", "TCP connect",
               "trust (TLS certificate / SSH host key)", "connect (protocol handshake)",
               "authentication", "remote root exists", "remote root writable",
               "rename supported", "mtime set", "resume supported", "permission bits",
               "server checksum", "read back", "probe removed"}
FAILING = ["path", "path_bytes?", "action", "code", "code_number", "class", "message", "attempts",
           "first_failed", "last_failed", "next_retry"]
TIMES = {"time", "started", "ended", "next_run", "first_failed", "last_failed", "next_retry",
         "manifest_mtime", "remote_mtime"}
OUTCOMES = {"ok", "failed", "skipped", "deferred", "planned"}
SEVERITY = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}


class Bad(Exception):
    pass


def no_dupes(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Bad("duplicate key in %s" % keys)
    return dict(pairs)


def members(obj, spec, where):
    keys = list(obj.keys())
    want = [k.rstrip("?") for k in spec if not k.endswith("?") or k.rstrip("?") in obj]
    if keys != want:
        raise Bad("%s: members %s, documented %s" % (where, keys, want))


def walk(obj, where):
    for k, v in obj.items():
        if isinstance(v, dict):
            walk(v, where + "." + k)
        elif isinstance(v, list):
            for i, e in enumerate(v):
                if isinstance(e, dict):
                    walk(e, "%s.%s[%d]" % (where, k, i))
        elif isinstance(v, str):
            if v == "-":
                raise Bad("%s.%s: placeholder '-' (null expected)" % (where, k))
            if k in TIMES and not TIME.match(v):
                raise Bad("%s.%s: %r is not RFC 3339 UTC with milliseconds" % (where, k, v))
            if k.endswith("_bytes"):
                raw = base64.b64decode(v, validate=True)
                try:
                    raw.decode("utf-8")
                    raise Bad("%s.%s: present for a UTF-8 name" % (where, k))
                except UnicodeDecodeError:
                    pass
                shown = obj.get(k[: -len("_bytes")])
                if shown != raw.decode("utf-8", errors="per_byte"):
                    raise Bad("%s.%s: %r does not render as %r" % (where, k, raw, shown))
        elif k in TIMES and v is not None:
            raise Bad("%s.%s: a time must be a string or null" % (where, k))


def verify_entry(rec, where):
    if rec["kind"] not in VERIFY_KINDS:
        raise Bad("%s: verify kind %r" % (where, rec["kind"]))
    if rec["compared_by"] not in COMPARED_BY or rec["digest_alg"] not in ALGS:
        raise Bad("%s: compared_by %r, digest_alg %r" % (where, rec["compared_by"],
                                                         rec["digest_alg"]))
    for k in ("expected_digest", "remote_digest"):
        if rec[k] is not None and not HEX.match(rec[k]):
            raise Bad("%s: %s %r is not lower-case hex" % (where, k, rec[k]))
    if rec["kind"] == "content" and (rec["compared_by"] is None or rec["remote_digest"] is None
                                     and "read back" not in (rec["detail"] or "")):
        raise Bad("%s: a content difference must say how it was compared" % where)
    if rec["kind"] == "unchecked" and (rec["compared_by"] is not None or not rec["detail"]):
        raise Bad("%s: a file not compared has no method and says why" % where)


def verify_summary(rec, where):
    counts = ("content_compared", "content_different", "content_unchecked")
    if rec["checksum"] and (rec["content_unchecked"] or 0) != 0:
        raise Bad("%s: checksum true while %r files were not compared" %
                  (where, rec["content_unchecked"]))
    if rec["read_back"] and rec["content_compared"] is None:
        raise Bad("%s: read_back without content counts" % where)
    if any(rec[k] is None for k in counts) and any(rec[k] is not None for k in counts):
        raise Bad("%s: content counts all null (no --checksum) or all numbers" % where)
    if rec["identical"] != (rec["missing"] + rec["extra"] + rec["different"] == 0):
        raise Bad("%s: identical does not match the counts" % where)
    if rec["exit_code"] not in (5, 0 if rec["identical"] else 23):
        raise Bad("%s: exit_code %r with identical %r" % (where, rec["exit_code"],
                                                          rec["identical"]))


def check(rec, n):
    where = "line %d" % n
    if not isinstance(rec, dict) or "type" not in rec:
        raise Bad("%s: not a record with a type" % where)
    t = rec["type"]
    if t not in SCHEMA:
        raise Bad("%s: unknown type %r" % (where, t))
    members(rec, SCHEMA[t], where)
    walk(rec, where)
    if t == "item" and rec["outcome"] not in OUTCOMES:
        raise Bad("%s: outcome %r" % (where, rec["outcome"]))
    if t == "item" and rec["outcome"] == "planned" and not rec["dry_run"]:
        raise Bad("%s: planned outside a dry run" % where)
    if t == "verify_entry":
        verify_entry(rec, where)
    if t == "verify":
        verify_summary(rec, where)
    if t == "check_step" and rec["step"] not in CHECK_STEPS:
        raise Bad("%s: unknown check step %r" % (where, rec["step"]))
    if t == "status":
        if SEVERITY.get(rec["severity"]) != rec["exit_code"]:
            raise Bad("%s: severity %r with exit_code %r" % (where, rec["severity"],
                                                             rec["exit_code"]))
        if isinstance(rec["last_run"], dict):
            members(rec["last_run"], RUN, where + ".last_run")
        for i, f in enumerate(rec["failing"] or []):
            members(f, FAILING, "%s.failing[%d]" % (where, i))
    return t


def main():
    counts = {}
    n = 0
    try:
        for n, line in enumerate(sys.stdin.buffer.read().split(b"\n"), 1):
            if not line:
                continue
            text = line.decode("utf-8")  # strict: the output is valid UTF-8
            t = check(json.loads(text, object_pairs_hook=no_dupes,
                                 parse_constant=lambda c: (_ for _ in ()).throw(Bad(c))), n)
            counts[t] = counts.get(t, 0) + 1
    except (Bad, ValueError, UnicodeDecodeError) as e:
        print("json_check: line %d: %s" % (n, e))
        return 1
    print("ok %d %s" % (sum(counts.values()),
                        " ".join("%s=%d" % kv for kv in sorted(counts.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
