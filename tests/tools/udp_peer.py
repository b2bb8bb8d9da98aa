#!/usr/bin/env python3
"""A plain kernel UDP socket, as a peer no one here wrote would use one.

  udp_peer.py echo-client HOST PORT [--count N] [--timeout S] [--flows K]
      N datagrams of 1..1400 random bytes, one at a time, each waiting for
      its echo, from K sockets (source ports) in turn: prints JSON {sent,
      answered, mismatched, timeouts, flows_answered, rtt_us}
      (round trips measured around sendto/recvfrom, Python's overhead
      included). It gives up after 3 timeouts without any answer.
  udp_peer.py send HOST PORT [--count N] [--pps R]
      N datagrams "kernel-peer <i>" paced at R per second: prints JSON
      {sent}.
  udp_peer.py recv HOST PORT [--idle S] [--max S] [--ready FILE]
      counts datagrams until S seconds pass without one: prints JSON
      {received, bytes, gen} where gen counts payloads that carry the
      magic of `sluice gen` ("SLG" at byte 8).
  udp_peer.py raw-bad IFACE SRC_MAC DST_MAC SRC_IP DST_IP DPORT
      sends one UDP/IPv4 frame with a deliberately wrong UDP checksum
      through an AF_PACKET socket (the kernel would not send one).

HOST may be IPv4 or IPv6; the family follows it.
"""
import argparse
import json
import os
import random
import socket
import struct
import sys
import time


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def pct(sorted_us, q):
    if not sorted_us:
        return None
    i = min(len(sorted_us) - 1, int(q * len(sorted_us)))
    return round(sorted_us[i], 1)


def echo_client(a):
    socks = [socket.socket(family(a.host), socket.SOCK_DGRAM)
             for _ in range(a.flows)]
    for s in socks:
        s.settimeout(a.timeout)
    rng = random.Random(a.seed)
    sent = answered = mismatched = timeouts = 0
    flows = set()
    rtts = []
    for i in range(a.count):
        s = socks[i % a.flows]
        n = rng.randint(1, 1400)
        msg = bytes(rng.getrandbits(8) for _ in range(n))
        t0 = time.perf_counter_ns()
        s.sendto(msg, (a.host, a.port))
        sent += 1
        try:
            while True:
                data, frm = s.recvfrom(2048)
                if frm[1] == a.port:
                    break
        except socket.timeout:
            timeouts += 1
            if timeouts >= 3 and not answered + mismatched:
                break  # nothing answers: say so now, not in minutes
            continue
        rtts.append((time.perf_counter_ns() - t0) / 1000.0)
        if data == msg:
            answered += 1
            flows.add(i % a.flows)
        else:
            mismatched += 1
    rtts.sort()
    print(json.dumps({"sent": sent, "answered": answered,
                      "mismatched": mismatched, "timeouts": timeouts,
                      "flows_answered": len(flows),
                      "rtt_us": {"p50": pct(rtts, 0.5), "p99": pct(rtts, 0.99),
                                 "p999": pct(rtts, 0.999),
                                 "max": round(rtts[-1], 1) if rtts else None}}))


def send(a):
    s = socket.socket(family(a.host), socket.SOCK_DGRAM)
    gap = 1.0 / a.pps
    t = time.perf_counter()
    for i in range(a.count):
        s.sendto(b"kernel-peer %d" % i, (a.host, a.port))
        t += gap
        d = t - time.perf_counter()
        if d > 0:
            time.sleep(d)
    print(json.dumps({"sent": a.count}))


def recv(a):
    s = socket.socket(family(a.host), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((a.host, a.port))
    if a.ready:
        open(a.ready, "w").close()
    s.settimeout(a.idle)
    got = nbytes = gen = 0
    end = time.monotonic() + a.max
    while time.monotonic() < end:
        try:
            data = s.recv(65536)
        except socket.timeout:
            if got:
                break
            continue
        got += 1
        nbytes += len(data)
        if len(data) >= 12 and data[8:11] == b"SLG":
            gen += 1
    print(json.dumps({"received": got, "bytes": nbytes, "gen": gen}))


def csum(b):
    if len(b) & 1:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def raw_bad(a):
    src = socket.inet_aton(a.src_ip)
    dst = socket.inet_aton(a.dst_ip)
    payload = b"damaged on the way"
    ulen = 8 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 1, 0x4000, 64, 17,
                     0, src, dst)
    ip = ip[:10] + struct.pack("!H", 0xffff - csum(ip)) + ip[12:]
    pseudo = src + dst + struct.pack("!BBH", 0, 17, ulen)
    udp = struct.pack("!HHHH", 40000, a.dport, ulen, 0) + payload
    good = 0xffff - csum(pseudo + udp) or 0xffff
    bad = good ^ 0x0101  # wrong, and not the pseudo-header seed either
    udp = udp[:6] + struct.pack("!H", bad) + udp[8:]
    eth = bytes.fromhex(a.dst_mac.replace(":", "")) + \
        bytes.fromhex(a.src_mac.replace(":", "")) + b"\x08\x00"
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    s.send(eth + ip + udp)
    print(json.dumps({"sent": 1, "udp_csum": bad, "right": good}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("echo-client")
    c.add_argument("host")
    c.add_argument("port", type=int)
    c.add_argument("--count", type=int, default=100)
    c.add_argument("--timeout", type=float, default=1.0)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--flows", type=int, default=1)
    c = sub.add_parser("send")
    c.add_argument("host")
    c.add_argument("port", type=int)
    c.add_argument("--count", type=int, default=100)
    c.add_argument("--pps", type=float, default=10000)
    c = sub.add_parser("recv")
    c.add_argument("host")
    c.add_argument("port", type=int)
    c.add_argument("--idle", type=float, default=1.0)
    c.add_argument("--max", type=float, default=20.0)
    c.add_argument("--ready")
    c = sub.add_parser("raw-bad")
    for k in ("iface", "src_mac", "dst_mac", "src_ip", "dst_ip"):
        c.add_argument(k)
    c.add_argument("dport", type=int)
    a = p.parse_args()
    {"echo-client": echo_client, "send": send, "recv": recv,
     "raw-bad": raw_bad}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
