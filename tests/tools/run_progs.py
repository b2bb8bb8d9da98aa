#!/usr/bin/env python3
"""Small unmodified programs for test_run.sh, run under `sluice run`.

  run_progs.py echo PORT N            blocking recvfrom/sendto echo, N datagrams
  run_progs.py echo6 PORT N           the same on [::] (IPv6 and IPv4)
  run_progs.py many PORT K            K sockets on PORT..PORT+K-1, one
                                      datagram echoed on each
  run_progs.py manyclient HOST PORT K one round trip to each of those
  run_progs.py tosecho PORT N         echo; "tos?" gets the TOS and TTL it
                                      came with, in a reply sent with them
  run_progs.py tosecho6 PORT N        the same on IPv6 only (traffic class,
                                      hop limit)
  run_progs.py asyncio PORT N         asyncio datagram endpoint (epoll)
  run_progs.py selectors PORT N       non-blocking socket under selectors
  run_progs.py mixed UPORT TPORT N    UDP echo and a TCP echo in one loop
  run_progs.py two PORT N             two sockets, PORT and PORT+1, N each
  run_progs.py option PORT            sets IP_MULTICAST_IF, then echoes one
  run_progs.py dns PORT N             answers N DNS A queries with 10.9.8.7
  run_progs.py rpecho PORT IDX SECS    one SO_REUSEPORT socket on PORT,
                                       answering "IDX:" + each datagram
  run_progs.py reuse PORT N            two SO_REUSEPORT sockets on PORT, a
                                      thread each, N replies in all, each
                                      prefixed with its socket's number
  run_progs.py reusebpf PORT N        the same with a BPF program on the
                                      group, and a plain echo on PORT+1
                                      (N replies in all too)
  run_progs.py sleep [handler]        a UDP socket on loopback, then sleeps;
                                      handler: exits 0 on SIGTERM
  run_progs.py pmtu HOST PORT         one socket sends "df" twice, then
                                      sets IP_MTU_DISCOVER to OMIT (as DNS
                                      servers do) and sends "nodf" twice
  run_progs.py label HOST6 PORT       two sockets send "label" twice each
  run_progs.py client HOST PORT N [tcp]   the kernel client: N round trips
  run_progs.py memcache HOST PORT SIZE   memcached's kernel client: sets a
                                      SIZE-byte value over TCP, gets it over
                                      UDP (frame header, several datagrams)
  run_progs.py flows HOST PORT F K [one]   the kernel client of reuse: F
                                      flows (source ports) of K round trips
                                      each, a flow always at one socket,
                                      both sockets used (one: all at 0)
"""
import asyncio
import ctypes
import os
import select
import selectors
import signal
import socket
import sys
import threading
import time

# not in python 3.11's socket module
IP_RECVTTL, IP_RECVTOS, IP_MTU_DISCOVER, IP_PMTUDISC_OMIT = 12, 13, 10, 5


def echo(port, n, v6=False):
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET,
                      socket.SOCK_DGRAM)
    s.bind(("::" if v6 else "0.0.0.0", port))
    s.settimeout(20)
    for _ in range(n):
        d, a = s.recvfrom(65536)
        s.sendto(d, a)


def tosecho(port, n):
    """echo, and a datagram "tos?" gets "tos=T ttl=L" back: the TOS byte
    and TTL it arrived with (IP_RECVTOS, IP_RECVTTL), and the reply goes
    out with the same two (IP_TOS and IP_TTL control messages)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.settimeout(20)
    s.setsockopt(socket.IPPROTO_IP, IP_RECVTOS, 1)
    s.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    for _ in range(n):
        d, anc, _, a = s.recvmsg(65536, 64)
        if d != b"tos?":
            s.sendto(d, a)
            continue
        got = {ty: v for lv, ty, v in anc if lv == socket.IPPROTO_IP}
        tos = got[socket.IP_TOS][0]
        ttl = int.from_bytes(got[socket.IP_TTL][:4], sys.byteorder)
        s.sendmsg([b"tos=%d ttl=%d" % (tos, ttl)],
                  [(socket.IPPROTO_IP, socket.IP_TOS, tos.to_bytes(4, sys.byteorder)),
                   (socket.IPPROTO_IP, socket.IP_TTL, ttl.to_bytes(4, sys.byteorder))],
                  0, a)


def tosecho6(port, n):
    """tosecho on IPv6 only: "tos?" gets "tos=T ttl=L", the traffic class
    and hop limit it came with, in a reply sent with the same two."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::", port))
    s.settimeout(20)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVTCLASS, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
    for _ in range(n):
        d, anc, _, a = s.recvmsg(65536, 64)
        if d != b"tos?":
            s.sendto(d, a)
            continue
        got = {ty: int.from_bytes(v[:4], sys.byteorder)
               for lv, ty, v in anc if lv == socket.IPPROTO_IPV6}
        tc, hops = got[socket.IPV6_TCLASS], got[socket.IPV6_HOPLIMIT]
        s.sendmsg([b"tos=%d ttl=%d" % (tc, hops)],
                  [(socket.IPPROTO_IPV6, socket.IPV6_TCLASS,
                    tc.to_bytes(4, sys.byteorder)),
                   (socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT,
                    hops.to_bytes(4, sys.byteorder))], 0, a)


def many(port, k):
    """k sockets on ports port..port+k-1, one datagram echoed on each."""
    socks = []
    for i in range(k):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port + i))
        socks.append(s)
    left = k
    while left:
        r, _, _ = select.select(socks, [], [], 20)
        if not r:
            sys.exit("%d of %d sockets got nothing" % (left, k))
        for s in r:
            d, a = s.recvfrom(100)
            s.sendto(d, a)
            left -= 1


def manyclient(host, port, k):
    """One round trip to each of ports port..port+k-1."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    for i in range(k):
        s.sendto(b"to %d" % (port + i), (host, port + i))
        if s.recv(100) != b"to %d" % (port + i):
            sys.exit("port %d: wrong answer" % (port + i))
    print("ok %d" % k)


def aio(port, n):
    class Echo(asyncio.DatagramProtocol):
        def __init__(self):
            self.left = n

        def connection_made(self, t):
            self.t = t

        def datagram_received(self, d, a):
            self.t.sendto(d, a)
            self.left -= 1
            if not self.left:
                done.set_result(True)

    async def main():
        global done
        done = asyncio.get_running_loop().create_future()
        t, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            Echo, local_addr=("0.0.0.0", port))
        await asyncio.wait_for(done, 20)
        t.close()
    asyncio.run(main())


def sel(port, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.bind(("0.0.0.0", port))
    m = selectors.DefaultSelector()
    m.register(s, selectors.EVENT_READ)
    left = n
    while left:
        if not m.select(20):
            sys.exit("selectors: timeout")
        while True:
            try:
                d, a = s.recvfrom(65536)
            except BlockingIOError:
                break
            s.sendto(d, a)
            left -= 1


def pollecho(port, n):
    # poll(2) on a non-blocking socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.bind(("0.0.0.0", port))
    p = select.poll()
    p.register(s, select.POLLIN)
    left = n
    while left:
        if not p.poll(20000):
            sys.exit("poll: timeout")
        while left:
            try:
                d, a = s.recvfrom(65536)
            except BlockingIOError:
                break
            s.sendto(d, a)
            left -= 1


def mixed(uport, tport, n):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("0.0.0.0", uport))
    t = socket.socket()
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("0.0.0.0", tport))
    t.listen()
    m = selectors.DefaultSelector()
    m.register(u, selectors.EVENT_READ)
    m.register(t, selectors.EVENT_READ)
    left = 2 * n
    while left > 0:
        ev = m.select(20)
        if not ev:
            sys.exit("mixed: timeout")
        for k, _ in ev:
            if k.fileobj is u:
                d, a = u.recvfrom(65536)
                u.sendto(d, a)
                left -= 1
            elif k.fileobj is t:
                c, _ = t.accept()
                m.register(c, selectors.EVENT_READ)
            else:
                d = k.fileobj.recv(65536)
                if not d:
                    m.unregister(k.fileobj)
                    k.fileobj.close()
                    continue
                k.fileobj.sendall(d)
                left -= 1


def two(port, n):
    socks = []
    for p in (port, port + 1):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", p))
        socks.append(s)
    m = selectors.DefaultSelector()
    for s in socks:
        m.register(s, selectors.EVENT_READ)
    left = 2 * n
    while left:
        ev = m.select(20)
        if not ev:
            sys.exit("two: timeout")
        for k, _ in ev:
            d, a = k.fileobj.recvfrom(65536)
            k.fileobj.sendto(d, a)
            left -= 1


def option(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                 socket.inet_aton("0.0.0.0"))
    s.settimeout(20)
    d, a = s.recvfrom(65536)
    s.sendto(d, a)


def dns(port, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.settimeout(20)
    for _ in range(n):
        q, a = s.recvfrom(512)
        end = 12
        while q[end]:
            end += q[end] + 1
        end += 5  # the root label, QTYPE, QCLASS
        hdr = q[:2] + b"\x81\x80" + q[4:6] + b"\x00\x01\x00\x00\x00\x00"
        ans = (b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" +
               bytes([10, 9, 8, 7]))
        s.sendto(hdr + q[12:end] + ans, a)


def reuse(port, n, bpf=False):
    socks = []
    if bpf:
        # on the port first: it goes on sharing it when the group leaves
        plain = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        plain.bind(("0.0.0.0", port + 1))
        plain.settimeout(0.2)
    for _ in range(2):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("0.0.0.0", port))
        s.settimeout(0.2)
        socks.append(s)
    if bpf:
        # classic BPF "return 0": the group's first socket takes all
        class Insn(ctypes.Structure):
            _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8),
                        ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]

        class Prog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_uint16),
                        ("filter", ctypes.POINTER(Insn))]
        insn = (Insn * 1)(Insn(0x06, 0, 0, 0))  # BPF_RET | BPF_K
        prog = Prog(1, insn)
        socks[0].setsockopt(socket.SOL_SOCKET, 51,  # ..._REUSEPORT_CBPF
                            bytes(prog))
        socks.append(plain)
    left = [n]
    counts = [0] * len(socks)
    lock = threading.Lock()
    end = time.time() + 20

    def serve(i):
        s = socks[i]
        while time.time() < end:
            with lock:
                if left[0] <= 0:
                    return
            try:
                d, a = s.recvfrom(65536)
            except socket.timeout:
                continue
            s.sendto(b"%d:" % i + d if i < 2 else d, a)
            with lock:
                left[0] -= 1
                counts[i] += 1
    th = [threading.Thread(target=serve, args=(i,))
          for i in range(len(socks))]
    for x in th:
        x.start()
    for x in th:
        x.join()
    print("replies", *counts)
    sys.exit(0 if left[0] <= 0 else 1)


def sleep(handler):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    if handler:
        def h(n, f):
            print("handled", n, flush=True)
            sys.exit(0)
        signal.signal(signal.SIGTERM, h)
    print("ready", flush=True)
    time.sleep(30)


def rpecho(port, idx, secs):
    """One SO_REUSEPORT socket on port answering b"IDX:" + each datagram
    for secs seconds (a group's member in a process of its own)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("0.0.0.0", port))
    s.settimeout(0.2)
    end = time.time() + secs
    while time.time() < end:
        try:
            d, a = s.recvfrom(65536)
        except socket.timeout:
            continue
        s.sendto(b"%d:" % idx + d, a)
    s.close()


def flows(host, port, f, k, one):
    at = {}
    counts = [0, 0]
    for i in range(f):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        for j in range(k):
            msg = os.urandom(1 + (i * 31 + j * 97) % 1400)
            s.sendto(msg, (host, port))
            got, _ = s.recvfrom(65536)
            idx, _, rest = got.partition(b":")
            if rest != msg:
                sys.exit("flow %d: reply %d differs" % (i, j))
            src = s.getsockname()[1]
            if at.setdefault(src, idx) != idx:
                sys.exit("flow from port %d went to sockets %s and %s" %
                         (src, at[src], idx))
            counts[int(idx)] += 1
        s.close()
    print("ok", counts[0], counts[1])
    if one:
        sys.exit(0 if not counts[1] else "the BPF program was not obeyed")
    sys.exit(0 if counts[0] and counts[1] else
             "all flows went to one socket: %s" % counts)


def spread(host, port, f, k):
    # f sockets (f source ports, f flows), k datagrams each: a sender
    # picks its TX queue by the flow's hash, and veth hands a frame to
    # the peer's RX queue of that number, so the flows spread over the
    # receiver's queues
    for i in range(f):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        for j in range(k):
            msg = os.urandom(1 + (i * 31 + j * 97) % 1400)
            s.sendto(msg, (host, port))
            got, _ = s.recvfrom(65536)
            if got != msg:
                sys.exit("flow %d: reply %d differs" % (i, j))
        s.close()
    print("ok %d" % (f * k))


def pmtu(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    for msg in (b"df", b"df"):
        s.sendto(msg, (host, port))
    s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_OMIT)
    for msg in (b"nodf", b"nodf"):
        s.sendto(msg, (host, port))
    s.close()


def ipid(host, port):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.connect((host, port))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("0.0.0.0", 0))
    for _ in range(3):
        c.send(b"conn")
        u.sendto(b"unconnected", (host, port))
    c.close()
    u.close()


def label(host, port):
    for _ in range(2):
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::", 0))
        for _ in range(2):
            s.sendto(b"label", (host, port))
        s.close()


def client(host, port, n, tcp=False):
    if tcp:
        s = socket.create_connection((host, port), 5)
    else:
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                          socket.SOCK_DGRAM)
    s.settimeout(3)
    for i in range(n):
        msg = os.urandom(1 + (i * 97) % 1400)
        if tcp:
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                got += s.recv(65536)
        else:
            s.sendto(msg, (host, port))
            got, _ = s.recvfrom(65536)
        if got != msg:
            sys.exit("reply %d differs" % i)
    print("ok %d" % n)


def memcache(host, port, size):
    """set over TCP (memcached takes no set over UDP), get over UDP: each
    datagram has the 8-byte frame header (request id, sequence number,
    datagrams in all, 0); the value must come back byte for byte."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    val = os.urandom(size // 2).hex().encode()
    t = socket.create_connection((host, port), timeout=5)
    t.sendall(b"set k 0 0 %d\r\n%s\r\n" % (len(val), val))
    if t.recv(100) != b"STORED\r\n":
        sys.exit("set not stored")
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.settimeout(5)
    u.sendto(b"\x00\x07\x00\x00\x00\x01\x00\x00get k\r\n", (host, port))
    parts = {}
    while True:
        d = u.recv(65536)
        rid, seq, tot = int.from_bytes(d[0:2], "big"), \
            int.from_bytes(d[2:4], "big"), int.from_bytes(d[4:6], "big")
        if rid != 7:
            sys.exit("request id %d" % rid)
        parts[seq] = d[8:]
        if len(parts) == tot:
            break
    body = b"".join(parts[i] for i in range(tot))
    want = b"VALUE k 0 %d\r\n%s\r\nEND\r\n" % (len(val), val)
    if body != want:
        sys.exit("value differs (%d bytes, %d datagrams)" % (len(body), tot))
    print("ok %d bytes in %d datagrams" % (len(body), tot))


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "echo":
        echo(int(a[1]), int(a[2]))
    elif a[0] == "many":
        many(int(a[1]), int(a[2]))
    elif a[0] == "manyclient":
        manyclient(a[1], int(a[2]), int(a[3]))
    elif a[0] == "tosecho":
        tosecho(int(a[1]), int(a[2]))
    elif a[0] == "tosecho6":
        tosecho6(int(a[1]), int(a[2]))
    elif a[0] == "echo6":
        echo(int(a[1]), int(a[2]), True)
    elif a[0] == "asyncio":
        aio(int(a[1]), int(a[2]))
    elif a[0] == "selectors":
        sel(int(a[1]), int(a[2]))
    elif a[0] == "poll":
        pollecho(int(a[1]), int(a[2]))
    elif a[0] == "mixed":
        mixed(int(a[1]), int(a[2]), int(a[3]))
    elif a[0] == "two":
        two(int(a[1]), int(a[2]))
    elif a[0] == "option":
        option(int(a[1]))
    elif a[0] == "dns":
        dns(int(a[1]), int(a[2]))
    elif a[0] == "reuse":
        reuse(int(a[1]), int(a[2]))
    elif a[0] == "reusebpf":
        reuse(int(a[1]), int(a[2]), True)
    elif a[0] == "sleep":
        sleep(len(a) > 1)
    elif a[0] == "rpecho":
        rpecho(int(a[1]), int(a[2]), float(a[3]))
    elif a[0] == "flows":
        flows(a[1], int(a[2]), int(a[3]), int(a[4]), len(a) > 5)
    elif a[0] == "spread":
        spread(a[1], int(a[2]), int(a[3]), int(a[4]))
    elif a[0] == "pmtu":
        pmtu(a[1], int(a[2]))
    elif a[0] == "ipid":
        ipid(a[1], int(a[2]))
    elif a[0] == "label":
        label(a[1], int(a[2]))
    elif a[0] == "client":
        client(a[1], int(a[2]), int(a[3]), len(a) > 4)
    elif a[0] == "memcache":
        memcache(a[1], int(a[2]), int(a[3]))
