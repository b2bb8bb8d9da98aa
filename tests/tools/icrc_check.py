#!/usr/bin/env python3
"""Check the ICRC of every RoCEv2 frame in pcap files, independently of
sluice: Python's zlib.crc32 over the masked input of the wire reference
(shared/specs/rocev2.md, section 3), over the IP header as captured (no
canonical ID: what is on the wire is what a RoCE NIC checks).

  icrc_check.py FILE.pcap...

Prints one JSON object {frames, bad, files, first_bad}; exits 1 when a
frame is wrong or no RoCEv2 frame was found. Before reading the files it
checks itself against the reference's worked example (an RC ACK whose ICRC
bytes are 68 3d e5 4c).
"""
import json
import struct
import sys
import zlib

ROCE_PORT = 4791


def icrc(l3, udp):
    """The ICRC over an IP header and a UDP datagram (ICRC field last)."""
    ip = bytearray(l3)
    if ip[0] >> 4 == 4:
        ip[1] = 0xFF  # TOS
        ip[8] = 0xFF  # TTL
        ip[10:12] = b"\xff\xff"  # header checksum
    else:
        ip[0:4] = b"\x6f\xff\xff\xff"  # version, traffic class, flow label
        ip[7] = 0xFF  # hop limit
    u = bytearray(udp[:-4])
    u[6:8] = b"\xff\xff"  # UDP checksum
    u[8 + 4] = 0xFF  # BTH byte 4: FECN, BECN, reserved
    return zlib.crc32(b"\xff" * 8 + bytes(ip) + bytes(u)) & 0xFFFFFFFF


def roce(frame):
    """(l3, udp) of a RoCEv2 frame, or None."""
    off = 12
    etype = struct.unpack_from("!H", frame, off)[0]
    off += 2
    while etype in (0x8100, 0x88A8):
        etype = struct.unpack_from("!H", frame, off + 2)[0]
        off += 4
    if etype == 0x0800:
        ihl = (frame[off] & 0xF) * 4
        tot = struct.unpack_from("!H", frame, off + 2)[0]
        if frame[off + 9] != 17 or ihl != 20:
            return None
        l3, l4, end = frame[off:off + ihl], off + ihl, off + tot
    elif etype == 0x86DD:
        plen = struct.unpack_from("!H", frame, off + 4)[0]
        if frame[off + 6] != 17:
            return None
        l3, l4, end = frame[off:off + 40], off + 40, off + 40 + plen
    else:
        return None
    sport, dport, ulen = struct.unpack_from("!HHH", frame, l4)
    # every RoCEv2 frame goes to 4791, whichever side sends it
    if dport != ROCE_PORT or ulen < 8 + 12 + 4 or l4 + ulen > end:
        return None
    return l3, frame[l4:l4 + ulen]


def frames(path):
    data = open(path, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise SystemExit("%s: not a pcap file" % path)
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack_from(end + "I", data, off + 8)[0]
        yield data[off + 16:off + 16 + incl]
        off += 16 + incl


def self_test():
    ack = bytes.fromhex(
        "020000000001020000000002 0800 45000030 12344000 4011a535 "
        "c0a80102 c0a80101 c01212b7 001c0000 1100ffff 00000011 00000064 "
        "1f000001 683de54c".replace(" ", ""))
    l3, udp = roce(ack)
    assert icrc(l3, udp) == 0x4CE53D68, "self-test: worked example"
    assert udp[-4:] == struct.pack("<I", 0x4CE53D68)


def main():
    self_test()
    n = bad = 0
    first = None
    for path in sys.argv[1:]:
        for i, fr in enumerate(frames(path)):
            r = roce(fr)
            if not r:
                continue
            n += 1
            want = icrc(*r)
            got = struct.unpack("<I", r[1][-4:])[0]
            if want != got:
                bad += 1
                if first is None:
                    first = "%s frame %d: ICRC %08x, should be %08x" % (
                        path, i + 1, got, want)
    print(json.dumps({"frames": n, "bad": bad, "files": len(sys.argv) - 1,
                      "first_bad": first}))
    return 1 if bad or not n else 0


if __name__ == "__main__":
    sys.exit(main())
