#!/usr/bin/env python3
"""Socket semantics a program relies on, run under `sluice run` against a
kernel echo (run_progs.py tosecho) at HOST PORT, and for the IPv6 checks
run_progs.py tosecho6 at HOST6 PORT6. Prints one line per check; exits 1
if one fails.

  run_sem.py HOST PORT HOST6 PORT6
"""
import array
import errno
import ctypes
import fcntl
import json
import os
import select
import socket
import struct
import subprocess
import sys
import termios
import threading
import time

HOST, PORT = sys.argv[1], int(sys.argv[2])
ECHO = (HOST, PORT)
ECHO6 = (sys.argv[3], int(sys.argv[4]))
bad = 0
libc = ctypes.CDLL(None, use_errno=True)


def check(name, ok, why=""):
    global bad
    print("%s %s%s" % ("ok" if ok else "FAIL", name, "" if ok else ": " + why),
          flush=True)
    bad += not ok


def sock(timeout=3):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    s.settimeout(timeout)
    return s


# the receive time is the datagram's arrival, not its read: a program
# that reads late (a busy NTP server, a logger) gets when it came, as the
# kernel stamps it; the answer arrives at once and is read 0.3 s later.
# First in the file: the socket is served and its port stamps nothing
# until SO_TIMESTAMP comes, after the bind (iperf2 sets it so)
SO_TIMESTAMP = 29


def read_late(sl, opt, val, stamp):
    """Turn opt on, have a datagram come, read it 0.3 s later: how long
    before the read its stamp (the cmsg of type opt, read by stamp) says
    it came, or None. Closes sl."""
    sl.setsockopt(socket.SOL_SOCKET, opt, val)
    # the kernel turns its receive stamps on for the first socket that
    # asks a moment later (a deferred static key): a datagram that comes
    # first is stamped when read, on kernel sockets too
    time.sleep(0.1)
    sl.sendto(b"late", ECHO)
    time.sleep(0.3)
    d, anc, fl, a = sl.recvmsg(100, 256)
    late = time.time()
    sl.close()
    ts = [stamp(v) for lv, ty, v in anc if (lv, ty) == (socket.SOL_SOCKET, opt)]
    return late - ts[0] if d == b"late" and ts and ts[0] else None


sl = sock()
sl.sendto(b"served", ECHO)
sl.recv(100)
ago = read_late(sl, SO_TIMESTAMP, 1,
                lambda v: (lambda t: t[0] + t[1] / 1e6)(struct.unpack("qq", v[:16])))
check("SO_TIMESTAMP: the arrival time, not the read time",
      ago is not None and 0.2 < ago < 5, repr(ago))

# the same with SO_TIMESTAMPING alone, as chronyd asks (RX_SOFTWARE,
# SOFTWARE, OPT_CMSG): while no other socket has SO_TIMESTAMP on (the
# one above is closed), its first timespec is still the arrival
ago = read_late(sock(), 37, 1048,
                lambda v: (lambda t: t[0] + t[1] / 1e9)(struct.unpack("6q", v))
                if len(v) == 48 else None)
check("SO_TIMESTAMPING alone: the arrival time, not the read time",
      ago is not None and 0.2 < ago < 5, repr(ago))

# sendto/recvfrom, byte for byte, sizes up to the MTU and beyond (the
# kernel fragments what the link or a buffer does not take: 1473 and 1600
# fit a port buffer, not a 1500-byte MTU)
s = sock()
ok = True
for n in (1, 100, 1472, 1473, 1600, 3000, 8000):
    m = os.urandom(n)
    s.sendto(m, ECHO)
    d, a = s.recvfrom(65536)
    ok &= d == m and a == ECHO
check("sendto/recvfrom 1..8000 bytes", ok)

# registered in an epoll set before it has a port, as sipp does: served
# since its bind (or its first send's ephemeral port), the set must wake
# for what the port takes (three rounds: the first reply may reach the
# kernel socket while the port reopens with the new port)
ok = []
for how in ("bind", "send"):
    ep = select.epoll()
    e = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ep.register(e, select.EPOLLIN)
    if how == "bind":
        e.bind(("0.0.0.0", 0))
    e.setblocking(False)
    for i in range(3):
        m = b"early %s %d" % (how.encode(), i)
        e.sendto(m, ECHO)
        n = len(ep.poll(3))
        try:
            d = e.recv(100)
        except OSError:
            d = None
        ok.append((n, d == m))
    e.close()
    ep.close()
check("epoll registered before bind or first send wakes",
      ok == [(1, True)] * 6, repr(ok))

# an fd sent in SCM_RIGHTS (Node.js's cluster hands its workers the
# socket the primary bound): whoever receives it reads the kernel socket,
# which must get the datagrams (the copy received here stands for
# another process's, the preload does not know it)
u = sock()
u.sendto(b"served first", ECHO)
u.recv(100)
pa, pb = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
socket.send_fds(pa, [b"fd"], [u.fileno()])
_, fds, _, _ = socket.recv_fds(pb, 10, 1)
w = socket.socket(fileno=fds[0])
w.settimeout(3)
ok = []
for i in range(3):
    try:
        w.sendto(b"passed %d" % i, ECHO)
        ok.append(w.recv(100) == b"passed %d" % i)
    except OSError as e:
        ok.append(repr(e))
check("a socket whose fd went in SCM_RIGHTS is read through that fd",
      ok == [True] * 3, repr(ok))
w.detach()
os.close(fds[0])
u.close()
pa.close()
pb.close()

# a kernel socket beside a served one on the same port number, the other
# family (unbound's [::]:53 went to the kernel for an option before its
# bind, beside a served 0.0.0.0:53): the port steers by the number alone,
# so it must leave that number to the kernel, or the kernel socket's
# datagrams are lost. Here a SO_REUSEPORT group's BPF program makes the
# IPv6 socket the kernel's: set before its bind, which comes after the
# IPv4 one's or before it, or set after both sockets were served.
class Insn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8),
                ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(Insn))]


def bpf_on(k):
    insn = (Insn * 1)(Insn(0x06, 0, 0, 0))  # BPF_RET | BPF_K 0
    k.setsockopt(socket.SOL_SOCKET, 51, bytes(Prog(1, insn)))  # _CBPF


def kernel6(port, bpf_first=True):
    k = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    k.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    k.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if bpf_first:
        bpf_on(k)
    k.bind(("::", port))
    k.settimeout(3)
    return k


for first in ("IPv4 bound first", "IPv6 bound first", "both served first"):
    got = []
    s4 = k6 = None
    try:
        if first == "IPv6 bound first":
            k6 = kernel6(0)
            s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s4.bind(("0.0.0.0", k6.getsockname()[1]))
            s4.settimeout(3)
        else:
            s4 = sock()
            k6 = kernel6(s4.getsockname()[1], first == "IPv4 bound first")
        for so, to in ((s4, ECHO), (k6, ECHO6)):
            so.sendto(b"served", to)
            got.append(so.recv(100))
        if first == "both served first":
            bpf_on(k6)
        for so, to in ((s4, ECHO), (k6, ECHO6), (s4, ECHO), (k6, ECHO6)):
            so.sendto(b"same port", to)
            got.append(so.recv(100))
        ok = got == [b"served"] * 2 + [b"same port"] * 4
    except OSError as e:
        ok = False
        got.append(repr(e))
    check("a kernel IPv6 socket on a served IPv4 socket's port (%s): "
          "both answered" % first, ok, repr(got))
    for so in (s4, k6):
        if so:
            so.close()

# a closed socket's number goes back to the kernel, which may give it to
# another program (here one without the preload): that program's
# datagrams must reach it, not the port, which would drop them
c = sock()
c.sendto(b"mine", ECHO)
c.recv(100)
num = c.getsockname()[1]
c.close()
other = subprocess.run(
    [sys.executable, "-c", """
import socket, sys
o = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
o.bind(("0.0.0.0", int(sys.argv[1])))
o.settimeout(3)
o.sendto(b"yours", (sys.argv[2], int(sys.argv[3])))
print(o.recv(100).decode())
""", str(num), HOST, str(PORT)],
    env={k: v for k, v in os.environ.items() if k != "LD_PRELOAD"},
    capture_output=True, text=True)
check("a closed socket's number, bound by another program: it gets its "
      "datagrams", other.stdout.strip() == "yours",
      other.stdout + other.stderr[-200:])

# another socket's bind or close while a datagram waits for this one:
# the port changes its rules in place, and nothing waiting is lost
wa = sock()
ok = []
for step in ("bind", "close"):
    wa.sendto(b"waiting " + step.encode(), ECHO)
    time.sleep(0.2)  # the answer is in, not yet read
    if step == "bind":
        wb = sock()
    else:
        wb.close()
    try:
        ok.append(wa.recv(100) == b"waiting " + step.encode())
    except OSError as e:
        ok.append(repr(e))
wa.close()
check("a datagram waiting for one socket outlives another's bind and "
      "close", ok == [True, True], repr(ok))

# more sockets than the port has rules (16): the ones past them stay
# the kernel's, and the port keeps its rules, so a datagram waiting for a
# served socket is not lost to a reopen that could not take them all
wa = sock()
wa.sendto(b"waiting for the many", ECHO)
time.sleep(0.2)
many = [sock() for _ in range(20)]
try:
    got = wa.recv(100)
except OSError as e:
    got = repr(e)
for so in many:
    so.close()
wa.close()
check("a datagram waiting for one socket outlives 20 more binds",
      got == b"waiting for the many", repr(got))

# MSG_PEEK then read; MSG_TRUNC on a short buffer
s.sendto(b"peekaboo", ECHO)
p = s.recv(100, socket.MSG_PEEK)
d = s.recv(100)
check("MSG_PEEK leaves the datagram", p == b"peekaboo" and d == p)
s.sendto(b"0123456789", ECHO)
d, _, fl, _ = s.recvmsg(4)
check("short buffer: truncated, MSG_TRUNC in flags",
      d == b"0123" and fl & socket.MSG_TRUNC, repr((d, fl)))
s.sendto(b"0123456789", ECHO)
n = len(s.recv(4, socket.MSG_TRUNC))
check("MSG_TRUNC flag: the datagram's length", n == 10, str(n))

# IP_PKTINFO, SO_TIMESTAMP
IP_PKTINFO = 8
s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
s.sendto(b"x", ECHO)
d, anc, fl, a = s.recvmsg(100, 256)
kinds = {(lv, ty) for lv, ty, _ in anc}
ts = [struct.unpack("qq", v[:16]) for lv, ty, v in anc
      if (lv, ty) == (socket.SOL_SOCKET, SO_TIMESTAMP)]
check("IP_PKTINFO and SO_TIMESTAMP cmsgs",
      (socket.IPPROTO_IP, IP_PKTINFO) in kinds and ts and
      abs(ts[0][0] + ts[0][1] / 1e6 - time.time()) < 5, repr(anc))

# a send with IP_PKTINFO or IPV6_PKTINFO naming the source, as DNS, SNMP
# and NTP servers on 0.0.0.0 answer from the address a query came to
# (test_run_servers.sh sees dnsmasq's answers leave through the port); on
# s and an IPv6 socket on s's port number: few new numbers, as the
# port's match takes 16
got = []
try:
    sp6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sp6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sp6.bind(("::", s.getsockname()[1]))
    sp6.settimeout(3)
    # the addresses the echoes' answers come to: the sources to name
    sp6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    src = []
    for sp, to, lv, ty in ((s, ECHO, socket.IPPROTO_IP, IP_PKTINFO),
                           (sp6, ECHO6, socket.IPPROTO_IPV6,
                            socket.IPV6_PKTINFO)):
        sp.sendto(b"where", to)
        _, anc, _, _ = sp.recvmsg(100, 256)
        v = [v for l, t, v in anc if (l, t) == (lv, ty)][0]
        src.append(v[8:12] if sp is s else v[:16])
    for sp, to, lv, ty, pi in (
            (s, ECHO, socket.IPPROTO_IP, IP_PKTINFO,
             struct.pack("i4s4s", 0, src[0], bytes(4))),
            (sp6, ECHO6, socket.IPPROTO_IPV6, socket.IPV6_PKTINFO,
             src[1] + struct.pack("I", 0))):
        for i in range(2):
            sp.sendmsg([b"pktinfo %d" % i], [(lv, ty, pi)], 0, to)
            got.append(sp.recvfrom(100))
    sp6.close()
    ok = [d for d, _ in got] == [b"pktinfo 0", b"pktinfo 1"] * 2
except OSError as e:
    ok = False
    got.append(repr(e))
check("sendmsg with IP_PKTINFO and IPV6_PKTINFO (the source): answered",
      ok, repr(got))

# SO_TIMESTAMP* as the kernel keeps them: one switch for the four, and
# the last one turned on decides the single cmsg a datagram gets, in its
# layout (the _NEW ones, 63 and 64, are what programs built with
# _TIME_BITS=64 use); turning any off turns timestamps off
SO_TIMESTAMPNS, SO_TIMESTAMP_NEW, SO_TIMESTAMPNS_NEW = 35, 63, 64
st = sock()
want = [(SO_TIMESTAMP, 1, SO_TIMESTAMP), (SO_TIMESTAMPNS, 1, SO_TIMESTAMPNS),
        (SO_TIMESTAMP, 1, SO_TIMESTAMP),
        (SO_TIMESTAMP_NEW, 1, SO_TIMESTAMP_NEW),
        (SO_TIMESTAMPNS_NEW, 1, SO_TIMESTAMPNS_NEW),
        (SO_TIMESTAMPNS_NEW, 0, None)]
got = []
ok = True
for opt, on, typ in want:
    st.setsockopt(socket.SOL_SOCKET, opt, on)
    st.sendto(b"t", ECHO)
    _, anc, _, _ = st.recvmsg(10, 256)
    cm = [(ty, v) for lv, ty, v in anc if lv == socket.SOL_SOCKET]
    got.append([ty for ty, _ in cm])
    if typ is None:
        ok &= cm == []
        continue
    ok &= len(cm) == 1 and cm[0][0] == typ and len(cm[0][1]) == 16
    if ok:
        sec, frac = struct.unpack("qq", cm[0][1])
        scale = 1e9 if typ in (SO_TIMESTAMPNS, SO_TIMESTAMPNS_NEW) else 1e6
        ok &= 0 <= frac < scale and abs(sec + frac / scale - time.time()) < 5
check("SO_TIMESTAMP, _NS and _NEW: the one cmsg the last option asks for",
      ok, repr(got))

# SO_TIMESTAMPING with software receive times (chronyd's flags: RX_SOFTWARE,
# SOFTWARE, OPT_CMSG): three timespecs, the first the receive time, after
# SO_TIMESTAMP's cmsg when that is on too; the option's _NEW form (65)
# switches both to the 64-bit layouts, as SO_TIMESTAMP_NEW would; 0 stops
SO_TIMESTAMPING, SO_TIMESTAMPING_NEW = 37, 65
want = [(SO_TIMESTAMPING, 1048, [SO_TIMESTAMPING]),
        (SO_TIMESTAMP, 1, [SO_TIMESTAMP, SO_TIMESTAMPING]),
        (SO_TIMESTAMPING_NEW, 1048, [SO_TIMESTAMP_NEW, SO_TIMESTAMPING_NEW]),
        (SO_TIMESTAMP, 0, [SO_TIMESTAMPING_NEW]),
        (SO_TIMESTAMPING_NEW, 0, [])]
got = []
ok = True
for opt, val, typs in want:
    st.setsockopt(socket.SOL_SOCKET, opt, val)
    st.sendto(b"t", ECHO)
    _, anc, _, _ = st.recvmsg(10, 256)
    cm = [(ty, v) for lv, ty, v in anc if lv == socket.SOL_SOCKET]
    got.append([ty for ty, _ in cm])
    ok &= [ty for ty, _ in cm] == typs
    for ty, v in cm:
        if ty in (SO_TIMESTAMPING, SO_TIMESTAMPING_NEW):
            t = struct.unpack("6q", v)
            ok &= (len(v) == 48 and t[2:] == (0,) * 4 and
                   abs(t[0] + t[1] / 1e9 - time.time()) < 5)
check("SO_TIMESTAMPING software receive times, beside SO_TIMESTAMP",
      ok, repr(got))

# IP_TOS and IP_TTL on what the socket sends, as the echo saw them:
# defaults, set (a DSCP with ECN bits, a TTL), the one-byte IP_TOS form,
# and IP_TTL -1 back to the default. The echo's reply comes with the same
# two: IP_RECVTTL and IP_RECVTOS give them, TTL (an int) then TOS (a
# byte). Then IPv6's IPV6_TCLASS and IPV6_UNICAST_HOPS, and the reply's
# IPV6_HOPLIMIT then IPV6_TCLASS (ints) after IPV6_RECVHOPLIMIT and
# IPV6_RECVTCLASS.
def tos_check(name, family, echo, level, recv, opts, cm):
    sq = socket.socket(family, socket.SOCK_DGRAM)
    sq.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
    sq.settimeout(3)
    for r in recv:
        sq.setsockopt(level, r, 1)
    seen, ok = [], True
    for opt, val, tos, ttl in opts:
        if opt is not None:
            sq.setsockopt(level, opt, val)
        sq.sendto(b"tos?", echo)
        d, anc, _, _ = sq.recvmsg(100, 256)
        seen.append((d.decode(), anc))
        ok &= d == b"tos=%d ttl=%d" % (tos, ttl) and anc == cm(tos, ttl)
    check(name, ok, repr(seen))
    sq.close()


def le(v, n=4):
    return v.to_bytes(n, sys.byteorder)


IP_RECVTTL, IP_RECVTOS = 12, 13
tos_check("IP_TOS and IP_TTL reach the wire; IP_RECVTTL, IP_RECVTOS",
          socket.AF_INET, ECHO, socket.IPPROTO_IP, (IP_RECVTTL, IP_RECVTOS),
          ((None, None, 0, 64), (socket.IP_TOS, 0xb9, 185, 64),
           (socket.IP_TTL, 7, 185, 7), (socket.IP_TOS, b"\x28", 40, 7),
           (socket.IP_TTL, -1, 40, 64)),
          lambda tos, ttl: [(socket.IPPROTO_IP, socket.IP_TTL, le(ttl)),
                            (socket.IPPROTO_IP, socket.IP_TOS, le(tos, 1))])
V6 = socket.IPPROTO_IPV6
tos_check("IPV6_TCLASS and IPV6_UNICAST_HOPS reach the wire; "
          "IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS",
          socket.AF_INET6, ECHO6, V6,
          (socket.IPV6_RECVHOPLIMIT, socket.IPV6_RECVTCLASS),
          ((None, None, 0, 64), (socket.IPV6_TCLASS, 0xb9, 185, 64),
           (socket.IPV6_UNICAST_HOPS, 7, 185, 7),
           (socket.IPV6_TCLASS, -1, 0, 7),
           (socket.IPV6_UNICAST_HOPS, -1, 0, 64)),
          lambda tc, hops: [(V6, socket.IPV6_HOPLIMIT, le(hops)),
                            (V6, socket.IPV6_TCLASS, le(tc))])

# a connected socket whose peer has no socket on the port: the ICMP port
# unreachable the peer's kernel answers makes the next receive fail with
# ECONNREFUSED (what a resolver moves on to the next server on); the
# socket works on afterwards
sr = sock()
sr.connect((HOST, 9))
sr.send(b"anyone?")
try:
    sr.recv(10)
    check("connected, nobody there: ECONNREFUSED", False, "got data")
except ConnectionRefusedError:
    sr.connect(ECHO)
    sr.send(b"after")
    check("connected, nobody there: ECONNREFUSED", sr.recv(10) == b"after")
except OSError as e:
    check("connected, nobody there: ECONNREFUSED", False, repr(e))
sr.close()

# a dual-stack socket on [::] sends to an IPv4-mapped address (as IPv4),
# then connects to that IPv4 peer (its addresses are IPv4-mapped from then
# on, as iperf3's UDP server does) and still gets the peer's datagrams;
# served, both go out through the port (test_run.sh reads the report)
sd = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
sd.bind(("::", 0))
sd.settimeout(3)
got = []
try:
    sd.sendto(b"mapped", ("::ffff:" + HOST, PORT))
    got.append(sd.recvfrom(100))
    sd.connect(("::ffff:" + HOST, PORT))
    sd.send(b"mapped, connected")
    got.append(sd.recvfrom(100))
    check("[::] to an IPv4 peer, then connected to it: the answers arrive",
          [d for d, _ in got] == [b"mapped", b"mapped, connected"] and
          all(a[:2] == ("::ffff:" + HOST, PORT) for _, a in got), repr(got))
except OSError as e:
    check("[::] to an IPv4 peer, then connected to it: the answers arrive",
          False, repr((got, e)))
sd.close()

# an IPv6 socket never bound that connects to an IPv4-mapped address (what
# Java's datagram sockets do): its address is the IPv4-mapped one of the
# interface, and it is served as that (two round trips: test_run.sh reads
# the report)
sj = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
sj.settimeout(3)
got = []
try:
    sj.connect(("::ffff:" + HOST, PORT))
    for m in (b"java", b"style"):
        sj.send(m)
        got.append(sj.recv(100))
    check("IPv6 socket connected to an IPv4-mapped address, unbound before",
          got == [b"java", b"style"], repr(got))
except OSError as e:
    check("IPv6 socket connected to an IPv4-mapped address, unbound before",
          False, repr((got, e)))
sj.close()

# UDP_SEGMENT (GSO, what QUIC stacks send with): a send cut into
# datagrams of the size, the last shorter, from the socket's option and
# from a send's control message; one no bigger goes whole. UDP_GRO on:
# datagrams still arrive (one by one, or coalesced with the cmsg)
SOL_UDP, UDP_SEGMENT, UDP_GRO = 17, 103, 104
sg = sock()
data = bytes(range(250))
sg.setsockopt(SOL_UDP, UDP_SEGMENT, 100)
sg.sendto(data, ECHO)
got = [sg.recv(300) for _ in range(3)]
sg.sendto(data[:80], ECHO)
got.append(sg.recv(300))
sg.setsockopt(SOL_UDP, UDP_SEGMENT, 0)
sg.sendmsg([data[:70], data[70:130]],
           [(SOL_UDP, UDP_SEGMENT, struct.pack("H", 60))], 0, ECHO)
got += [sg.recv(300) for _ in range(3)]
check("UDP_SEGMENT: option and cmsg cut sends as the kernel does",
      got == [data[:100], data[100:200], data[200:], data[:80],
              data[:60], data[60:120], data[120:130]],
      repr([len(g) for g in got]))
sg.setsockopt(SOL_UDP, UDP_GRO, 1)
sg.sendto(b"gro1", ECHO)
d, anc, _, _ = sg.recvmsg(100, 64)
check("UDP_GRO on: datagrams arrive", d == b"gro1", repr((d, anc)))

# disconnect: connect(AF_UNSPEC) ends the connection; the socket then
# takes any sender again and sends where sendto says
sx = sock()
sx.connect(ECHO)
sx.send(b"conn")
first = sx.recv(10)
unspec = struct.pack("HH12x", socket.AF_UNSPEC, 0)
rc = libc.connect(sx.fileno(), unspec, len(unspec))
sx.sendto(b"after", ECHO)
after = sx.recvfrom(10)
other = sock()
other.sendto(b"other", ("127.0.0.1", sx.getsockname()[1]))
frm = sx.recvfrom(10)
check("connect(AF_UNSPEC): disconnected, any sender again",
      first == b"conn" and rc == 0 and after == (b"after", ECHO) and
      frm == (b"other", ("127.0.0.1", other.getsockname()[1])),
      repr((first, rc, after, frm)))
other.close()
sx.close()

# SO_BINDTODEVICE to the interface the echo is behind, then
# SO_BINDTOIFINDEX to it, before the bind: the socket works (served there)
DEV = [n for _, n in socket.if_nameindex() if n != "lo"][0]
SO_BINDTOIFINDEX = 62
for opt, val in ((socket.SO_BINDTODEVICE, DEV.encode()),
                 (SO_BINDTOIFINDEX, struct.pack("i", socket.if_nametoindex(DEV)))):
    sb = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sb.setsockopt(socket.SOL_SOCKET, opt, val)
    sb.bind(("0.0.0.0", 0))
    sb.settimeout(3)
    sb.sendto(b"dev", ECHO)
    try:
        d = sb.recv(10)
    except OSError as e:
        d = repr(e)
    check("SO_BINDTODEVICE" if opt == socket.SO_BINDTODEVICE else
          "SO_BINDTOIFINDEX", d == b"dev", repr(d))
    sb.close()
# and to another device once in use: the kernel's from then on (the
# report says why: test_run.sh)
sb = sock()
sb.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
sb.close()

# non-blocking: EAGAIN; timeout: after about the timeout
s.setblocking(False)
try:
    s.recv(10)
    check("non-blocking recv with nothing: EAGAIN", False, "got data")
except BlockingIOError:
    check("non-blocking recv with nothing: EAGAIN", True)
s.settimeout(0.3)
t0 = time.time()
try:
    s.recv(10)
    check("timeout with nothing", False, "got data")
except socket.timeout:
    check("timeout with nothing", 0.25 < time.time() - t0 < 2)

# SO_RCVTIMEO on a blocking socket (no python timeout: a real blocking
# recv); SO_RCVTIMEO_NEW (66, the 64-bit layout that programs built with
# _TIME_BITS=64 use) is the same timeout to the kernel. Both sockets stay
# open: the report must show neither fell back.
def rcvtimeo(name, opt, val):
    so = sock(None)
    so.setsockopt(socket.SOL_SOCKET, opt, val)
    so.sendto(b"prime", ECHO)
    so.recv(10)
    t0 = time.time()
    try:
        so.recv(10)
        check(name, False, "got data")
    except BlockingIOError:
        check(name, 0.25 < time.time() - t0 < 2,
              "waited %.2f s" % (time.time() - t0))
    return so


b = rcvtimeo("SO_RCVTIMEO", socket.SO_RCVTIMEO, struct.pack("ll", 0, 300000))
n = rcvtimeo("SO_RCVTIMEO_NEW", 66, struct.pack("qq", 0, 300000))

# the mode changed through another fd of the socket after a receive
# (sluice run keeps the mode it read): O_NONBLOCK by fcntl on a dup, then
# off by ioctl FIONBIO and a longer SO_RCVTIMEO, each seen at once
d = os.dup(b.fileno())
fcntl.fcntl(d, fcntl.F_SETFL, fcntl.fcntl(d, fcntl.F_GETFL) | os.O_NONBLOCK)
t0 = time.time()
try:
    b.recv(10)
    check("O_NONBLOCK set on a dup: EAGAIN", False, "got data")
except BlockingIOError:
    check("O_NONBLOCK set on a dup: EAGAIN", time.time() - t0 < 0.25,
          "waited %.2f s" % (time.time() - t0))
fcntl.ioctl(d, termios.FIONBIO, struct.pack("i", 0))
x = socket.socket(fileno=os.dup(d))
x.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 1, 0))
x.close()
t0 = time.time()
try:
    b.recv(10)
    check("FIONBIO off, SO_RCVTIMEO 1 s on a dup", False, "got data")
except BlockingIOError:
    check("FIONBIO off, SO_RCVTIMEO 1 s on a dup",
          0.8 < time.time() - t0 < 5, "waited %.2f s" % (time.time() - t0))
os.close(d)

# connect, send/recv, read/write, getsockname/getpeername
c = sock(None)  # blocking, for os.read; SO_RCVTIMEO bounds a failure
c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 3, 0))
c.connect(ECHO)
c.send(b"conn")
check("connected send/recv", c.recv(10) == b"conn")
check("getpeername", c.getpeername() == ECHO)
os.write(c.fileno(), b"rw")
check("write/read on a connected socket", os.read(c.fileno(), 10) == b"rw")
c.sendmsg([b"ab", b"cd", b"ef"])
check("sendmsg gathers its iovecs", c.recv(10) == b"abcdef")

# sendmmsg (through libc, so through the preload: python has no
# sendmmsg): 40 small messages, more than one burst, answered in order;
# then a mix with one too big for a port buffer (it goes through the
# kernel, fragmented), every answer there (the two paths' answers may
# interleave)
class Iov(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class MsgHdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(Iov)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class MMsgHdr(ctypes.Structure):
    _fields_ = [("hdr", MsgHdr), ("len", ctypes.c_uint)]



def sendmmsg(so, msgs):
    bufs = [ctypes.create_string_buffer(m, len(m)) for m in msgs]
    iovs = [Iov(ctypes.cast(b, ctypes.c_void_p), len(m))
            for b, m in zip(bufs, msgs)]
    v = (MMsgHdr * len(msgs))()
    for i, iov in enumerate(iovs):
        v[i].hdr.iov = ctypes.pointer(iov)
        v[i].hdr.iovlen = 1
    r = libc.sendmmsg(so.fileno(), v, len(msgs), 0)
    return r, [v[i].len for i in range(len(msgs))]


msgs = [b"mm%02d" % i + os.urandom(i) for i in range(40)]
r, lens = sendmmsg(c, msgs)
got = [c.recv(100) for _ in range(40)] if r == 40 else []
check("sendmmsg: 40 messages, lengths, answered in order",
      r == 40 and lens == [len(m) for m in msgs] and got == msgs,
      "r=%d errno=%d" % (r, ctypes.get_errno()))
msgs = [b"x1", b"x2", os.urandom(3000), b"x4", b"x5"]
r, lens = sendmmsg(c, msgs)
got = [c.recv(4000) for _ in range(5)] if r == 5 else []
check("sendmmsg: a mix of port and kernel sends, every answer",
      r == 5 and lens == [len(m) for m in msgs] and
      sorted(got) == sorted(msgs), "r=%d" % r)

# recvmmsg as the kernel's (the same checks pass on kernel sockets): a
# blocking socket waits for all n, SO_RCVTIMEO ends it with what came;
# MSG_WAITFORONE does not wait after the first; a timeout argument is
# looked at after each datagram and written back with what is left
class Timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]


def recvmmsg(so, n, flags=0, timeout=None):
    bufs = [ctypes.create_string_buffer(2048) for _ in range(n)]
    iovs = [Iov(ctypes.cast(b, ctypes.c_void_p), 2048) for b in bufs]
    v = (MMsgHdr * n)()
    for i, iov in enumerate(iovs):
        v[i].hdr.iov = ctypes.pointer(iov)
        v[i].hdr.iovlen = 1
    ts = Timespec(*timeout) if timeout else None
    r = libc.recvmmsg(so.fileno(), v, n, flags,
                      ctypes.byref(ts) if ts else None)
    return r, [bufs[i].raw[:v[i].len] for i in range(max(r, 0))], ts


MSG_WAITFORONE = 0x10000
rm = sock(None)
rm.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
              struct.pack("ll", 0, 500000))
rm.connect(ECHO)
rm.send(b"r1")
rm.send(b"r2")
t0 = time.time()
r, got, _ = recvmmsg(rm, 4)
check("recvmmsg, blocking: waits for 4, SO_RCVTIMEO ends it with 2",
      r == 2 and got == [b"r1", b"r2"] and 0.4 < time.time() - t0 < 3,
      "r=%d got=%r after %.2f s" % (r, got, time.time() - t0))
rm.send(b"w1")
rm.send(b"w2")
select.select([rm], [], [], 3)
t0 = time.time()
r, got, _ = recvmmsg(rm, 4, MSG_WAITFORONE)
dt = time.time() - t0
while r > 0 and len(got) < 2:  # the second may not have come yet
    got.append(rm.recv(100))
check("recvmmsg, MSG_WAITFORONE: no wait after the first",
      r in (1, 2) and got == [b"w1", b"w2"] and dt < 0.4,
      "r=%d got=%r after %.2f s" % (r, got, dt))
for m in (b"t1", b"t2", b"t3"):
    rm.send(m)
r, got, ts = recvmmsg(rm, 3, 0, (5, 0))
left = ts.sec + ts.nsec / 1e9
check("recvmmsg with a timeout: all 3, what is left written back",
      r == 3 and got == [b"t1", b"t2", b"t3"] and 2 < left < 5,
      "r=%d got=%r left=%.2f" % (r, got, left))

# the same calls through syscall(2), as libuv makes them (dig, Node.js):
# sendmmsg of 3, then recvmmsg of those 3 answers (the served path has
# them in the port: only the preload can hand them over), then recvfrom
SYS_RECVFROM, SYS_RECVMMSG, SYS_SENDMMSG = 45, 299, 307  # x86_64
if os.uname().machine == "x86_64":
    sy = sock(None)
    sy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                  struct.pack("ll", 3, 0))
    sy.connect(ECHO)
    msgs = [b"sys1", b"sys2", b"sys3"]
    bufs = [ctypes.create_string_buffer(m, len(m)) for m in msgs]
    v = (MMsgHdr * 3)()
    iovs = [Iov(ctypes.cast(b, ctypes.c_void_p), 4) for b in bufs]
    for i in range(3):
        v[i].hdr.iov = ctypes.pointer(iovs[i])
        v[i].hdr.iovlen = 1
    libc.syscall.restype = ctypes.c_long
    r1 = libc.syscall(SYS_SENDMMSG, sy.fileno(), v, 3, 0)
    rb = [ctypes.create_string_buffer(100) for _ in range(3)]
    rv = (MMsgHdr * 3)()
    riovs = [Iov(ctypes.cast(b, ctypes.c_void_p), 100) for b in rb]
    for i in range(3):
        rv[i].hdr.iov = ctypes.pointer(riovs[i])
        rv[i].hdr.iovlen = 1
    r2 = libc.syscall(SYS_RECVMMSG, sy.fileno(), rv, 3, 0, None)
    got = [rb[i].raw[:rv[i].len] for i in range(max(r2, 0))]
    sy.send(b"sys4")
    one = ctypes.create_string_buffer(100)
    r3 = libc.syscall(SYS_RECVFROM, sy.fileno(), one, 100, 0, None, None)
    check("sendmmsg, recvmmsg and recvfrom through syscall(2)",
          r1 == 3 and r2 == 3 and got == msgs and one.raw[:r3] == b"sys4",
          "r=%d %d %d got=%r errno=%d" % (r1, r2, r3, got,
                                          ctypes.get_errno()))
    sy.close()

# ppoll and pselect6 through syscall(2): a served socket's datagram is
# seen (the port has it), and the time not slept is written back into
# the timespec, as the system calls do (libc's wrappers hide it)
SYS_PSELECT6, SYS_PPOLL = 270, 271  # x86_64


class PollFd(ctypes.Structure):
    _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_short),
                ("revents", ctypes.c_short)]


class Timeval(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("usec", ctypes.c_long)]


def fd_select(fd, secs, raw=False):
    """select on fd alone, through libc's select or (raw) the pselect6
    system call: its return, and the seconds left in its timeval or
    timespec (Linux leaves there the time it did not sleep)"""
    fds = (ctypes.c_ulong * 16)()
    fds[fd // 64] |= 1 << (fd % 64)
    if raw:
        t = Timespec(int(secs), int(secs % 1 * 1e9))
        n = libc.syscall(SYS_PSELECT6, fd + 1, fds, None, None,
                         ctypes.byref(t), None)
        return n, t.sec + t.nsec / 1e9
    t = Timeval(int(secs), int(secs % 1 * 1e6))
    n = libc.select(fd + 1, ctypes.byref(fds), None, None, ctypes.byref(t))
    return n, t.sec + t.usec / 1e6


if os.uname().machine == "x86_64":
    sy = sock(None)
    sy.connect(ECHO)
    sy.send(b"pp")
    pf = PollFd(sy.fileno(), select.POLLIN, 0)
    ts = Timespec(3, 0)
    n = libc.syscall(SYS_PPOLL, ctypes.byref(pf), 1, ctypes.byref(ts),
                     None, 8)
    left = ts.sec + ts.nsec / 1e9
    check("ppoll through syscall(2): readable, the time left written back",
          n == 1 and pf.revents & select.POLLIN and 0 < left < 3,
          "n=%d revents=%d left=%.3f" % (n, pf.revents, left))
    sy.recv(10)
    n, left = fd_select(sy.fileno(), 0.2, raw=True)
    check("pselect6 through syscall(2) timing out: 0 left",
          n == 0 and left == 0, "n=%d left=%.3f" % (n, left))
    sy.send(b"ps")
    n, left = fd_select(sy.fileno(), 3, raw=True)
    check("pselect6 through syscall(2): readable, the time left written back",
          n == 1 and 0 < left < 3, "n=%d left=%.3f" % (n, left))
    sy.recv(10)
    sy.close()

# FIONREAD: the size of the next datagram
c.send(b"12345")
select.select([c], [], [], 3)  # the echo may be slow on a busy host
buf = array.array("i", [0])
fcntl.ioctl(c, termios.FIONREAD, buf)
check("FIONREAD: the next datagram's size", buf[0] == 5, str(buf[0]))
c.recv(10)

# dup: both fds are the socket; closing one keeps the other
d2 = c.dup()
d2.send(b"dup")
check("dup'ed fd sends, the other receives", c.recv(10) == b"dup")
d2.close()
c.send(b"after")
check("close of a dup keeps the socket", c.recv(10) == b"after")
fd3 = os.dup(c.fileno())
os.dup2(fd3, 200)
os.write(200, b"dup2")
check("dup2'ed fd", c.recv(10) == b"dup2")
os.close(200)
os.close(fd3)

# poll and select over the socket and a pipe
r, w = os.pipe()
c.send(b"sel")
rd, _, _ = select.select([r, c], [], [], 3)
check("select sees the socket readable, not the pipe", rd == [c])
c.recv(10)


for what, fd in (("the socket", c.fileno()), ("a pipe", r)):
    n, left = fd_select(fd, 0.2)
    check("select timing out on %s leaves 0 in its timeval" % what,
          n == 0 and left == 0, "%d %.3f" % (n, left))
c.send(b"tv")
n, left = fd_select(c.fileno(), 3)
check("select returning early leaves the time not slept in its timeval",
      n == 1 and 0 < left < 3, "%d %.3f" % (n, left))
c.recv(10)
os.write(w, b"t")
n, left = fd_select(r, 3)
check("... on a pipe too", n == 1 and 2 < left <= 3, "%d %.3f" % (n, left))
os.read(r, 1)
po = select.poll()
po.register(c, select.POLLIN)
po.register(r, select.POLLIN)
check("poll with nothing: times out", po.poll(200) == [])
c.send(b"poll")
os.write(w, b"p")
ev = {}
t0 = time.time()
while len(ev) < 2 and time.time() - t0 < 3:  # the echo may come later
    ev.update(po.poll(3000))
check("poll: both readable", c.fileno() in ev and r in ev, repr(ev))
c.recv(10)
os.read(r, 1)

# epoll, level and edge triggered; each step waits for what it expects
# rather than sleeping, so a slow echo does not read as a wrong answer
ep = select.epoll()
ep.register(c, select.EPOLLIN)
c.send(b"e1")
c.send(b"e2")
ok = len(ep.poll(3)) == 1
c.recv(10)
ok &= len(ep.poll(3)) == 1  # level: the second is still there (or on its way)
c.recv(10)
ok &= ep.poll(0.1) == []
check("epoll level-triggered", ok)
ep.modify(c, select.EPOLLIN | select.EPOLLET)
c.send(b"e3")
steps = [len(ep.poll(3)) == 1]
steps.append(ep.poll(0.1) == [])  # edge: e3 unread, nothing new arrived
c.send(b"e4")
steps.append(len(ep.poll(3)) == 1)  # a new arrival is a new edge
c.recv(10)
c.recv(10)
steps.append(ep.poll(0.1) == [])
check("epoll edge-triggered", all(steps), "steps %r" % steps)
ep.close()

# threads: two sockets on the interface, each blocked in its own thread
res = {}


def waiter(k, so):
    res[k] = so.recv(100)


s1, s2 = sock(5), sock(5)
th = [threading.Thread(target=waiter, args=(i, so))
      for i, so in enumerate((s1, s2))]
for t in th:
    t.start()
time.sleep(0.2)
s2.sendto(b"two", ECHO)
s1.sendto(b"one", ECHO)
for t in th:
    t.join()
check("threads blocked on two sockets both wake", res == {0: b"one", 1: b"two"},
      repr(res))

# shutdown(2) wakes a thread blocked in a receive (how programs stop a
# reader thread: close does not wake it), which gets the end (b""), as
# does the next blocking receive; on an unconnected socket the kernel
# says ENOTCONN and shuts it down all the same. Blocking: a socket with
# a timeout is non-blocking underneath, and CPython's receive then polls
# and finds EAGAIN until the timeout, on kernel sockets too
s3 = sock(None)
s3.sendto(b"x", ECHO)
s3.recv(10)
res = {}
th = threading.Thread(target=waiter, args=(0, s3), daemon=True)
th.start()
time.sleep(0.3)
t0 = time.monotonic()
try:
    s3.shutdown(socket.SHUT_RDWR)
    how = "ok"
except OSError as e:
    how = errno.errorcode.get(e.errno, e.errno)
th.join(3)
woke = time.monotonic() - t0
check("shutdown wakes a thread blocked in recv, which gets b''",
      not th.is_alive() and res == {0: b""} and woke < 1 and how == "ENOTCONN",
      "%r %.2f %s" % (res, woke, how))
if not th.is_alive():  # else it would wait for ever
    t0 = time.monotonic()
    check("a receive after shutdown: b'' at once",
          s3.recv(10) == b"" and time.monotonic() - t0 < 1)
s3.close()

# close under a thread blocked in a receive: the kernel keeps the socket
# (bound) until that receive returns, which gets the datagrams sent to
# it; the number goes to the next socket, which gets its own. (Served,
# the sleeper used to wake on a freed socket and read the new one's.)
s4 = sock(None)
s4.sendto(b"x", ECHO)  # served from here
s4.recv(10)
port4 = s4.getsockname()[1]
res = {}
th = threading.Thread(target=lambda: res.update(got=os.read(s4.fileno(), 100)),
                      daemon=True)
th.start()
time.sleep(0.3)
num = s4.fileno()
s4.close()
s5 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s5.bind(("0.0.0.0", 0))
s5.settimeout(3)
tx = sock()
tx.sendto(b"late", ("127.0.0.1", port4))
th.join(3)
tx.sendto(b"new", ("127.0.0.1", s5.getsockname()[1]))
try:
    got5 = s5.recv(100)
except OSError as e:
    got5 = repr(e)
check("close under a blocked receive: it gets its socket's datagram, "
      "the next socket on its number its own",
      res.get("got") == b"late" and got5 == b"new",
      "%r %r (numbers %d %d)" % (res, got5, num, s5.fileno()))
s5.close()
tx.close()

# routes are the process's, not each socket's: four new sockets that
# each send to the echo once ask the kernel for its route (the report's
# routes=, a netlink round trip each) once between them at most, as a
# program that opens a socket per request (chronyd -Q, a resolver) would
# (kernel sockets write no report line and ask nothing)
rep = os.environ.get("SLUICE_RUN_REPORT")
if rep and os.environ.get("SLUICE_RUN_PATH", "kernel") != "kernel":
    ports = []
    for i in range(4):
        s = sock()
        s.sendto(b"route", ECHO)
        s.recv(100)
        ports.append(s.getsockname()[1])
        s.close()
    asked = []
    for line in open(rep):
        for p in ports:
            if " 0.0.0.0:%d " % p in line:
                m = [w for w in line.split() if w.startswith("routes=")]
                asked.append(int(m[0][7:]) if m else None)
    check("four sockets to one address: its route asked once at most",
          len(asked) == 4 and None not in asked and sum(asked) <= 1,
          repr(asked))

# a non-blocking send to an on-link address no one answers for returns at
# once, as on a kernel socket (the kernel queues it while it resolves the
# address, and drops it when that fails): a served one never waits for
# ARP (it waited a second), nor sends anything of its own to make the
# kernel resolve it. A bound far from the microseconds such a send takes.
if "." in HOST:
    nobody = HOST.rsplit(".", 1)[0] + ".99"
    s = sock()
    s.setblocking(False)
    t0 = time.monotonic()
    s.sendto(b"anyone?", (nobody, 9))
    dt = time.monotonic() - t0
    s.close()
    check("a non-blocking send to an unresolved neighbour does not wait",
          dt < 0.5, "%.3f s" % dt)

# a change of the kernel's neighbour table applies to the next send, as
# on a kernel socket: the echo's address moved to a MAC no one has, the
# datagram 0.3 s later is lost (the echo's side drops a frame for another
# host); moved back, answered. A served socket drops its cached headers
# when the kernel's tables change, not a second later.
def neigh_of(ip):
    out = subprocess.run(["ip", "-j", "neigh", "show", ip],
                         capture_output=True, text=True).stdout
    for n in json.loads(out or "[]"):
        if "lladdr" in n and "dev" in n:
            return n
    return None


def echo_once(s, msg, timeout=0.5):
    s.settimeout(timeout)
    s.sendto(msg, ECHO)
    try:
        return s.recv(100)
    except socket.timeout:
        return None


nb = neigh_of(HOST)
if nb:
    sn = sock()
    steps = [echo_once(sn, b"before", 3)]
    try:
        subprocess.run(["ip", "neigh", "replace", HOST, "lladdr",
                        "02:00:5e:00:53:99", "dev", nb["dev"], "nud",
                        "permanent"], check=True)
        time.sleep(0.3)
        steps.append(echo_once(sn, b"moved"))
    finally:
        subprocess.run(["ip", "neigh", "replace", HOST, "lladdr",
                        nb["lladdr"], "dev", nb["dev"], "nud",
                        nb.get("state", ["permanent"])[0].lower()])
    time.sleep(0.3)
    steps.append(echo_once(sn, b"back", 3))
    sn.close()
    check("a neighbour change applies to the next send",
          steps == [b"before", None, b"back"], repr(steps))
else:
    check("a neighbour change applies to the next send", False,
          "no neighbour entry for " + HOST)

# fork: the child's socket is a kernel socket and still works
pid = os.fork()
if pid == 0:
    c.send(b"child")
    os._exit(0 if c.recv(10) == b"child" else 1)
_, st = os.waitpid(pid, 0)
check("fork: the child's copy works", st == 0)
c.send(b"parent")
check("fork: the parent's still works", c.recv(10) == b"parent")

# the child's answer comes at once, before the parent has run again
# after the fork: it must reach the kernel socket they share, not a port
# the parent has not closed yet (a fresh served socket each time)
ok = 0
for i in range(10):
    f = sock(None)
    f.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                 struct.pack("ll", 3, 0))
    f.connect(ECHO)
    f.send(b"served")
    f.recv(10)
    pid = os.fork()
    if pid == 0:
        try:
            f.send(b"child%d" % i)
            os._exit(0 if f.recv(10) == b"child%d" % i else 1)
        except OSError:
            os._exit(2)
    _, st = os.waitpid(pid, 0)
    ok += st == 0
    f.close()
check("fork: the child's first answer reaches it, 10 of 10", ok == 10,
      "%d of 10" % ok)

# peeked, then a fork whose child never reads it (ncat -u -l --exec: the
# parent peeks at the first datagram, forks the command and reads on):
# the datagram is still there for the parent, as in the kernel's queue
# that both share
f = sock()
f.connect(ECHO)
f.send(b"warm")
f.recv(10)
f.send(b"peeked")
select.select([f], [], [], 3)
p = f.recv(10, socket.MSG_PEEK)
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
try:
    d = f.recv(10)
except OSError as e:
    d = repr(e)
check("fork: a datagram peeked before is the parent's if the child "
      "does not read it", p == d == b"peeked", repr((p, d)))
f.close()

sys.exit(1 if bad else 0)
