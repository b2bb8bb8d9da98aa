#!/usr/bin/env python3
"""Detach the XDP link on an interface (BPF_LINK_DETACH), as an
administrator or a crash of the link's holder would, leaving the process
that made it running: the fallback under test follows. No bpftool here.

  xdp_detach.py IFNAME     (in the interface's namespace; root)

Links are global and an ifindex is only unique within a namespace, so the
link is found by the id of the program attached to IFNAME here (ip -j -d
link), never by the ifindex alone: another namespace's link is never
touched.
"""
import ctypes
import json
import struct
import subprocess
import sys

NR_BPF = 321  # x86_64
LINK_GET_FD_BY_ID, OBJ_GET_INFO_BY_FD, LINK_GET_NEXT_ID, LINK_DETACH = \
    30, 15, 31, 34
LINK_TYPE_XDP = 6
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    r = libc.syscall(NR_BPF, cmd, buf, 128)
    return r, buf.raw


link = json.loads(subprocess.run(
    ["ip", "-j", "-d", "link", "show", "dev", sys.argv[1]],
    capture_output=True, check=True).stdout)[0]
prog = (link.get("xdp") or {}).get("prog", {}).get("id")
if not prog:
    sys.exit("no XDP program on %s" % sys.argv[1])
lid = 0
while True:
    r, raw = bpf(LINK_GET_NEXT_ID, struct.pack("II", lid, 0))
    if r < 0:
        sys.exit("no XDP link on %s" % sys.argv[1])
    lid = struct.unpack("II", raw[:8])[1]
    fd, _ = bpf(LINK_GET_FD_BY_ID, struct.pack("I", lid))
    if fd < 0:
        continue
    info = ctypes.create_string_buffer(64)
    r, _ = bpf(OBJ_GET_INFO_BY_FD,
               struct.pack("IIQ", fd, 64, ctypes.addressof(info)))
    typ, _, prog_id = struct.unpack("III", info.raw[:12])
    if r == 0 and typ == LINK_TYPE_XDP and prog_id == prog:
        r, _ = bpf(LINK_DETACH, struct.pack("I", fd))
        sys.exit(0 if r == 0 else "BPF_LINK_DETACH failed")
