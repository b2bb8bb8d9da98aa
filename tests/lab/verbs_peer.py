#!/usr/bin/python3
"""An RC responder on a real RDMA device, written with rdma-core's own
Python bindings (pyverbs), that a sluice client can WRITE to and READ back
from: perftest's ib_write_bw registers its region for WRITE only.

  verbs_peer.py DEV GID_INDEX --size S --iters N [--oob-port P]

It waits on TCP (18515) and speaks perftest's exchange as ib_write_bw's
server does (version, system data, MTU, keys, the handshakes, the reports,
the close), so `sluice rdma write-bw PORT --to ADDR --oob perftest
--verify` runs against it. Its region allows local write, remote WRITE and
remote READ and starts zeroed. After the close it checks, independently of
sluice, every place perftest's walk of S-byte messages over N iterations
wrote: byte j of each must be (j * 31 + 7) mod 256, which is what sluice's
client sends. Prints JSON {mtu, checked_bytes, bad_bytes, peer_iters}.
"""
import argparse
import json
import random
import socket
import struct
import sys

import pyverbs.enums as e
from pyverbs.addr import AHAttr, GID, GlobalRoute
from pyverbs.cq import CQ
from pyverbs.device import Context
from pyverbs.mr import MR
from pyverbs.pd import PD
from pyverbs.qp import QP, QPAttr, QPCap, QPInitAttr

CYCLE, LINE, KEYS = 4096, 64, 108


def recv_exact(conn, n):
    b = b""
    while len(b) < n:
        c = conn.recv(n - len(b))
        if not c:
            sys.exit("verbs_peer: the client closed the connection")
        b += c
    return b


def xchg(conn, mine):
    """The server's side of an exchange: read the client's, then answer."""
    theirs = recv_exact(conn, len(mine))
    conn.sendall(mine)
    return theirs


def keys(qpn, psn, rkey, vaddr, gid):
    m = "%04x:%04x:%06x:%06x:%08x:%016x:" % (0, 16, qpn, psn, rkey, vaddr)
    m += "".join("%02x:" % b for b in gid) + "%08x:" % 0
    return m.encode().ljust(KEYS, b"\0")


def parse_keys(m):
    f = m.split(b"\0", 1)[0].decode().split(":")
    if len(f) < 23:
        sys.exit("verbs_peer: keys %r are not perftest's" % m)
    return {"qpn": int(f[2], 16), "psn": int(f[3], 16),
            "gid": bytes(int(x, 16) for x in f[6:22])}


def inc(size):
    return LINE if size <= LINE else (size + LINE - 1) // LINE * LINE


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dev")
    ap.add_argument("gid_index", type=int)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--iters", type=int, required=True)
    ap.add_argument("--oob-port", type=int, default=18515)
    a = ap.parse_args()

    ctx = Context(name=a.dev)
    pd = PD(ctx)
    length = max(a.size, CYCLE)
    access = (e.IBV_ACCESS_LOCAL_WRITE | e.IBV_ACCESS_REMOTE_WRITE |
              e.IBV_ACCESS_REMOTE_READ)
    mr = MR(pd, length, access)
    mr.write(b"\0" * length, length)
    cq = CQ(ctx, 16, None, None, 0)
    init = QPInitAttr(qp_type=e.IBV_QPT_RC, scq=cq, rcq=cq,
                      cap=QPCap(max_send_wr=16, max_recv_wr=16))
    attr = QPAttr(port_num=1)
    attr.qp_access_flags = access
    qp = QP(pd, init, attr)
    gid = bytes.fromhex(ctx.query_gid(1, a.gid_index).gid.replace(":", ""))
    our_mtu = ctx.query_port(1).active_mtu

    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", a.oob_port))
    ls.listen(1)
    conn, _ = ls.accept()
    ls.close()

    xchg(conn, b"6.06".ljust(16, b"\0"))
    cycle = max(CYCLE, struct.unpack("!i", xchg(conn, struct.pack("!i", CYCLE)))[0])
    xchg(conn, struct.pack("!i", LINE))
    theirs = xchg(conn, (b"%d" % our_mtu).ljust(2, b"\0"))
    mtu = min(our_mtu, int(theirs.split(b"\0", 1)[0]))
    psn = random.getrandbits(24)
    me = keys(qp.qp_num, psn, mr.rkey, mr.buf, gid)
    peer = parse_keys(xchg(conn, me))

    dgid = ":".join("%02x%02x" % (peer["gid"][i], peer["gid"][i + 1])
                    for i in range(0, 16, 2))
    attr = QPAttr(port_num=1)
    attr.qp_access_flags = access
    attr.path_mtu = mtu
    attr.dest_qp_num = peer["qpn"]
    attr.rq_psn = peer["psn"]
    attr.sq_psn = psn
    attr.max_dest_rd_atomic = 16
    attr.max_rd_atomic = 16
    attr.min_rnr_timer = 12
    attr.timeout = 14
    attr.retry_cnt = 7
    attr.rnr_retry = 7
    attr.ah_attr = AHAttr(port_num=1, is_global=1,
                          gr=GlobalRoute(dgid=GID(dgid),
                                         sgid_index=a.gid_index))
    qp.to_rts(attr)
    for _ in range(2):
        xchg(conn, me)
    # the client's run, its READ-back included: the device serves them
    xchg(conn, me)
    rep = [xchg(conn, b"\0" * 8) for _ in range(5)]
    xchg(conn, me)
    conn.sendall(b"done\0")
    conn.close()

    data = mr.read(length, 0)
    step = inc(a.size)
    n = 1 if a.size > cycle // 2 else min(a.iters, cycle // step)
    want = bytes((j * 31 + 7) & 0xff for j in range(a.size))
    bad = 0
    for i in range(n):
        got = data[i * step:i * step + a.size]
        bad += sum(1 for x, y in zip(got, want) if x != y)
    print(json.dumps({"mtu": 128 << mtu, "checked_bytes": n * a.size,
                      "bad_bytes": bad,
                      "peer_iters": struct.unpack("!Q", rep[1])[0]}))
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
