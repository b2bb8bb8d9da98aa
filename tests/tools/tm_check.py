#!/usr/bin/env python3
"""Telemetry checks for test_telemetry.sh: a client of the socket, and a
checker of the Prometheus text exposition format (version 0.0.4) written
from the format's description at prometheus.io (docs/instrumenting/
exposition_formats), so the test needs no Prometheus install.

  tm_check.py query SOCK QUERY...    print each answer, one per line
  tm_check.py raw SOCK               malformed queries: each gets an error
  tm_check.py stall SOCK             clients that stall; see stall()
  tm_check.py prom FILE [NAME=V...]  check FILE's grammar; each NAME=V
                                     (labels too: NAME{l="v"}) must be a
                                     sample whose value is > 0 for V '+'
                                     or exactly V
  tm_check.py http HOST:PORT PATH    GET PATH: status, content type, body
"""
import json
import re
import socket
import sys
import time

ERR = []


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(3)
    s.connect(path)
    hello = json.loads(s.recv(65536))
    return s, hello


def ask(s, q):
    s.send(q if isinstance(q, bytes) else q.encode())
    return json.loads(s.recv(1 << 17))


def cmd_query(path, queries):
    s, hello = connect(path)
    print(json.dumps(hello))
    for q in queries:
        print(json.dumps(ask(s, q)))


def cmd_raw(path):
    """Every malformed query gets {"error": ...} and the server lives."""
    s, _ = connect(path)
    bad = [b"", b"ports", b"/PORTS", b"/port/stats,", b"/port/stats,abc",
           b"/port/stats,99999999", b"/port/stats,-1", b"/a\x00b",
           b"/x,\xff\xfe", b"/" * 127, b"/" * 5000, b"\n", b"/nosuch",
           b"/help", b"/help,/nosuch", b"{\"json\": 1}", b"/ports,a b"]
    for q in bad:
        a = ask(s, q)
        if "error" not in a:
            ERR.append("%r: no error: %r" % (q, a))
    a = ask(s, "/info")
    if "/info" not in a:
        ERR.append("after the bad queries, /info: %r" % a)
    print("%d malformed queries, %d errors returned" %
          (len(bad), len(bad) - len(ERR)))


def cmd_stall(path):
    """A client that floods queries and never reads, and seven that
    connect and say nothing (the server's eight slots): a ninth is refused
    with a reason, the flooder is dropped, and the idle ones are dropped
    after the server's idle timeout (5 s), when a new client is served.
    Prints how long that took."""
    t0 = time.monotonic()
    flood, _ = connect(path)
    flood.setblocking(False)
    sent = 0
    try:
        while sent < 200000:
            flood.send(b"/stats")
            sent += 1
    except (BlockingIOError, BrokenPipeError, ConnectionResetError):
        pass
    idle = [connect(path)[0] for _ in range(7)]
    # the flooder's slot comes free once the server finds it not reading
    extra = None
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        c.settimeout(3)
        c.connect(path)
        first = json.loads(c.recv(65536))
        if "error" in first:
            if first["error"] != "too many clients":
                ERR.append("refused with %r" % first)
            c.close()
            time.sleep(0.1)
            continue
        extra = c
        break
    if extra is None:
        ERR.append("the flooding client was never dropped")
    else:
        # eight now: the next one is refused with a reason
        c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        c.settimeout(3)
        c.connect(path)
        first = json.loads(c.recv(65536))
        if first.get("error") != "too many clients":
            ERR.append("a ninth client got %r" % first)
        c.close()
        extra.close()
    # the idle ones go after the idle timeout: their reads see the end
    for c in idle:
        c.settimeout(10)
        try:
            if c.recv(65536) != b"":
                ERR.append("an idle client got a message")
        except socket.timeout:
            ERR.append("an idle client was never dropped")
        c.close()
    s, _ = connect(path)
    if "/info" not in ask(s, "/info"):
        ERR.append("no answer after the stalls")
    print("flooder sent %d queries unread; stalls over in %.1f s" %
          (sent, time.monotonic() - t0))


# ---- the exposition format -------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LNAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
LVALUE = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
LABEL = LNAME + r"\s*=\s*" + LVALUE
LABELS = r"\{\s*(?:" + LABEL + r"(?:\s*,\s*" + LABEL + r")*\s*,?)?\s*\}"
FLOAT = r"[+-]?(?:[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?|Inf|NaN)"
SAMPLE = re.compile(r"^\s*(" + NAME + r")\s*(" + LABELS + r")?\s+(" +
                    FLOAT + r")(?:\s+(-?[0-9]+))?\s*$")
HELP = re.compile(r"^#\s+HELP\s+(" + NAME + r")(?:\s(.*))?$")
TYPE = re.compile(r"^#\s+TYPE\s+(" + NAME +
                  r")\s+(counter|gauge|histogram|summary|untyped)\s*$")
LABEL_RE = re.compile(r"(" + LNAME + r")\s*=\s*(" + LVALUE + r")")


def family(name, types):
    """The family a sample belongs to (histogram and summary suffixes)."""
    for suf in ("_bucket", "_sum", "_count"):
        base = name[:-len(suf)] if name.endswith(suf) else None
        if base and types.get(base) in ("histogram", "summary"):
            return base
    return name


def check_prom(text):
    """[(name, {labels}, value)], appending what breaks the format to
    ERR: line syntax, escapes, one HELP and one TYPE per family, TYPE
    before the family's samples, a family's lines in one group, no
    duplicate series, the final newline, label names not starting __."""
    if text and not text.endswith("\n"):
        ERR.append("the last line does not end with a newline")
    samples, helps, types = [], set(), {}
    done, current, series = set(), None, set()
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        fam = None
        if line.lstrip().startswith("#"):
            m = HELP.match(line)
            t = TYPE.match(line)
            if m:
                fam = m.group(1)
                if fam in helps:
                    ERR.append("line %d: second HELP for %s" % (n, fam))
                helps.add(fam)
                if re.search(r"\\[^\\n]", m.group(2) or ""):
                    ERR.append("line %d: bad escape in HELP" % n)
            elif t:
                fam = t.group(1)
                if fam in types:
                    ERR.append("line %d: second TYPE for %s" % (n, fam))
                if any(family(s[0], types) == fam for s in samples):
                    ERR.append("line %d: TYPE after samples of %s" %
                               (n, fam))
                types[fam] = t.group(2)
            elif re.match(r"^#\s+(HELP|TYPE)\b", line):
                ERR.append("line %d: malformed: %r" % (n, line))
                continue
            else:
                continue  # a comment
        else:
            m = SAMPLE.match(line)
            if not m:
                ERR.append("line %d: not a sample: %r" % (n, line))
                continue
            name, labels = m.group(1), {}
            for k, v in LABEL_RE.findall(m.group(2) or ""):
                if k.startswith("__"):
                    ERR.append("line %d: reserved label %s" % (n, k))
                if k in labels:
                    ERR.append("line %d: label %s twice" % (n, k))
                labels[k] = (v[1:-1].replace('\\"', '"')
                             .replace("\\n", "\n").replace("\\\\", "\\"))
            key = (name, tuple(sorted(labels.items())))
            if key in series:
                ERR.append("line %d: duplicate series %s" % (n, key))
            series.add(key)
            samples.append((name, labels, float(m.group(3))))
            fam = family(name, types)
        if fam != current:
            if fam in done:
                ERR.append("line %d: %s not in one group" % (n, fam))
            if current:
                done.add(current)
            current = fam
    return samples


def want(samples, spec):
    """NAME{l="v",...}=V: a sample with those labels (and maybe others)
    whose value is V, or > 0 for V '+'."""
    m = re.match(r"^(" + NAME + r")(\{.*\})?=(\+|[0-9.]+)$", spec)
    if not m:
        ERR.append("bad expectation %r" % spec)
        return
    name, v = m.group(1), m.group(3)
    need = dict((k, val[1:-1]) for k, val in
                LABEL_RE.findall(m.group(2) or ""))
    for s in samples:
        if s[0] == name and all(s[1].get(k) == x for k, x in need.items()):
            if (v == "+" and s[2] > 0) or (v != "+" and s[2] == float(v)):
                return
            ERR.append("%s: value %g" % (spec, s[2]))
            return
    ERR.append("%s: no such sample" % spec)


def cmd_prom(path, wants):
    with open(path, encoding="utf-8") as f:
        samples = check_prom(f.read())
    for w in wants:
        want(samples, w)
    print("%d samples" % len(samples))


def cmd_http(addr, path):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, addr))
              .encode())
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    ctype = [x.split(":", 1)[1].strip() for x in lines[1:]
             if x.lower().startswith("content-type:")]
    print(lines[0].split(" ", 2)[1])
    print(ctype[0] if ctype else "")
    sys.stdout.write(body.decode())


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, arg = sys.argv[1], sys.argv[2]
    if cmd == "query":
        cmd_query(arg, sys.argv[3:])
    elif cmd == "raw":
        cmd_raw(arg)
    elif cmd == "stall":
        cmd_stall(arg)
    elif cmd == "prom":
        cmd_prom(arg, sys.argv[3:])
    elif cmd == "http":
        cmd_http(arg, sys.argv[3])
    else:
        sys.exit(__doc__)
    for e in ERR:
        print("error: " + e, file=sys.stderr)
    sys.exit(1 if ERR else 0)


if __name__ == "__main__":
    main()
