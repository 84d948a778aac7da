#!/usr/bin/env python3
"""dns_query.py - ask one DNS server for one A record, for the integration tests.

    dns_query.py SERVER NAME

Sends a standard recursive query for NAME (type A) over UDP to SERVER:53
and prints the addresses of the answer; exits 0 when there is at least one,
1 otherwise. Only the address given is ever contacted.
"""
import random
import socket
import struct
import sys

server, name = sys.argv[1], sys.argv[2]
qid = random.randrange(65536)
q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
for label in name.rstrip(".").split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack("!HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(q, (server, 53))
data, _ = s.recvfrom(4096)
rid, flags, qd, an = struct.unpack("!HHHH", data[:8])
if rid != qid or an == 0:
    sys.exit(1)
# skip the question, then read answers (names are compressed pointers here)
off = 12
while data[off] != 0:
    off += 1 + data[off]
off += 5
found = 0
for _ in range(an):
    if data[off] & 0xc0 == 0xc0:
        off += 2
    else:
        while data[off] != 0:
            off += 1 + data[off]
        off += 1
    rtype, _, _, rdlen = struct.unpack("!HHIH", data[off:off + 10])
    off += 10
    if rtype == 1 and rdlen == 4:
        print(socket.inet_ntoa(data[off:off + 4]))
        found += 1
    off += rdlen
sys.exit(0 if found else 1)
