#!/usr/bin/env python3
"""seed.py - write the seed inputs of each fuzz harness from the fixtures.

Usage: python3 tests/fuzz/seed.py OUTDIR   (writes OUTDIR/<harness>/seed-*)

Sources: tests/fixtures/*.pcap (frames, payloads by direction, TLS
records), sample configs, generated EFF lists, MTA-STS texts and a few DNS
answers built here. Seeds are then minimised into tests/fuzz/corpus/ with
`make fuzz-merge`; this script is kept so the seeds can be rebuilt.
"""
import os
import struct
import sys
import glob
import subprocess

top = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
out = sys.argv[1]
MAXLEN = 8000
# link selector index in fuzz_engine.c / fuzz_pkt.c links[]
LINKSEL = {1: 1, 113: 6, 12: 0, 101: 4, 228: 7, 229: 8, 276: 9, 0: 2, 108: 5}


def put(h, name, data):
    d = os.path.join(out, h)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def read_pcap(path):
    b = open(path, "rb").read()
    magic, = struct.unpack("<I", b[:4])
    e = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    link = struct.unpack(e + "I", b[20:24])[0]
    off, frames = 24, []
    while off + 16 <= len(b):
        _, _, incl, _ = struct.unpack(e + "IIII", b[off:off + 16])
        frames.append(b[off + 16:off + 16 + incl])
        off += 16 + incl
    return link, frames


def l3_of(link, fr):
    if link == 1:
        return fr[14:]
    if link == 113:
        return fr[16:]
    return fr


def tcp_of(ip):
    """(src, sport, dport, flags, payload) of an IPv4/IPv6 TCP packet."""
    if ip[0] >> 4 == 4:
        ihl = (ip[0] & 15) * 4
        src, th = ip[12:16], ip[ihl:]
    else:
        src, th = ip[8:24], ip[40:]
    sport, dport = struct.unpack(">HH", th[:4])
    thl = (th[12] >> 4) * 4
    return src, sport, dport, th[13], th[thl:]


for path in sorted(glob.glob(os.path.join(top, "tests/fixtures/*.pcap"))):
    name = os.path.basename(path)[:-5]
    link, frames = read_pcap(path)
    sel = LINKSEL[link]
    # engine raw mode and pkt: framed records
    rec = bytearray([0])
    for fr in frames:
        r = bytes([sel]) + struct.pack(">H", len(fr)) + fr
        if len(rec) + len(r) > MAXLEN:
            break
        rec += r
    put("engine", name + "-raw", bytes(rec))
    put("pkt", name, bytes(rec[1:]))
    # payloads by direction
    chunks = []
    for fr in frames:
        src, sport, dport, flags, pl = tcp_of(l3_of(link, fr))
        d = 0 if dport == 25 else 1
        if pl:
            chunks.append((d, flags, pl))
    # engine tcp mode: [ctl][delta][len][payload]
    t = bytearray([1])
    for d, flags, pl in chunks:
        for i in range(0, len(pl), 255):
            p = pl[i:i + 255]
            r = bytes([d << 7 | (flags & 0x3f)]) + b"\0\0" + bytes([len(p)]) + p
            if len(t) + len(r) > MAXLEN:
                break
            t += r
    put("engine", name + "-tcp", bytes(t))
    # smtp: [flags][hdr][bytes] chunks of <= 126 bytes
    s = bytearray([1 if name.startswith(("downgrade", "stripped", "handshake")) else 0])
    for d, flags, pl in chunks:
        for i in range(0, len(pl), 126):
            p = pl[i:i + 126]
            r = bytes([d << 7 | len(p)]) + p
            if len(s) + len(r) > MAXLEN:
                break
            s += r
    put("smtp", name, bytes(s))
    # tls: the records each side sends after the STARTTLS exchange
    for d, flags, pl in chunks:
        if pl[:1] in (b"\x16", b"\x15", b"\x14", b"\x17") and len(pl) < MAXLEN:
            put("tls", "%s-%d-%d" % (name, d, len(pl)), bytes([len(pl) % 7]) + pl)

# configs
for c in [os.path.join(top, "starttls-guard.conf"), os.path.join(top, "tests/fixtures/golden.conf")]:
    put("config", os.path.basename(c), open(c, "rb").read())
put("config", "full", b'''ports = [ 25, 587 ];
eve = { file = "-"; };
engine = { max_flows = 1024; pool_chunks = 64; idle_timeout = 60; fallback_window = 30; fallback_entries = 16; };
nfqueue = { fail_open = false; queue_maxlen = 128; rcvbuf = 65536; bypass_mark = 0x20000; user = "nobody"; };
policy = {
  default = { mode = "enforce"; min_tls = "1.3"; };
  rules = (
    { match = "203.0.113.0/24"; mode = "enforce"; },
    { match = "2001:db8:25::/48"; mode = "testing"; min_tls = "1.3"; },
    { match = "192.0.2.1"; mode = "none"; },
    { domain = "example.net"; mxs = [ "mx.example.net", "*.example.org" ]; mode = "enforce"; }
  );
  pins = { file = "/nonexistent/pins"; max_age = 2592000; mode = "enforce"; };
};
''')
put("config", "bad", b'policy = { default = { mode = "sometimes"; }; };\nports = [ 70000 ];\n')

# EFF list: the generator's (build/tools/gen_efflist: the published list's
# size and shape, which the project does not ship), a short one, a tiny one
gen = os.path.join(top, "build", "tools", "gen_efflist")
if not os.access(gen, os.X_OK):
    sys.exit("seed.py: build %s first (make)" % gen)
for name, sel, args in (("gen", b"\x00", []), ("gen-short", b"\x0d", ["-n", "20"])):
    path = os.path.join(out, "eff-" + name + ".json")
    subprocess.run([gen] + args + [path], check=True, stdout=subprocess.DEVNULL)
    put("eff", name, sel + open(path, "rb").read())
    os.unlink(path)
put("eff", "tiny", b'\x01{"timestamp":"2020-05-20T10:25:12.710034-07:00","expires":"2021-05-20T10:25:12-07:00",'
    b'"version":"0.1","author":"x","policy-aliases":{"g":{"mode":"testing","mxs":[".google.com"]}},'
    b'"policies":{"gmail.com":{"policy-alias":"g"},"example.net":{"mode":"enforce","mxs":["mx.example.net",".example.org"]}}}')

# MTA-STS
put("sts", "ok", b"version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n")
put("sts", "none", b"version: STSv1\nmode: none\nmax_age: 0\n")
put("sts", "name", b"example.net.txt")


# DNS answers
def dname(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".") if l) + b"\0"


def dns(qname, qtype, answers):
    h = struct.pack(">HHHHHH", 0x1234, 0x8180, 1, len(answers), 0, 0)
    q = dname(qname) + struct.pack(">HH", qtype, 1)
    a = b""
    for t, rdata in answers:
        a += b"\xc0\x0c" + struct.pack(">HHIH", t, 1, 300, len(rdata)) + rdata
    return h + q + a


mx = dns("example.net", 15, [(15, struct.pack(">H", 10) + dname("mx.example.net")),
                             (15, struct.pack(">H", 20) + b"\x03mx2\xc0\x0c")])
put("dns", "mx", mx)
put("dns", "a", dns("mx.example.net", 1, [(1, bytes([203, 0, 113, 25]))]))
put("dns", "aaaa", dns("mx.example.net", 28, [(28, bytes(16))]))
put("dns", "cname", dns("mail.example.net", 5, [(5, b"\x02mx\xc0\x12")]))
put("dns", "tcp", struct.pack(">H", len(mx)) + mx + struct.pack(">H", len(mx)) + mx)


# pkt: fragments (IPv4 and IPv6) of a TCP segment
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


seg = struct.pack(">HHIIBBHHH", 40000, 25, 1, 1, 0x50, 0x18, 65535, 0, 0) + b"EHLO client.example.org\r\n" * 4
recs = b""
for off in range(0, len(seg), 40):
    part = seg[off:off + 40]
    mf = 0x2000 if off + 40 < len(seg) else 0
    ip = bytearray(struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(part), 77, mf | (off // 8), 64, 6, 0,
                               bytes([198, 51, 100, 7]), bytes([203, 0, 113, 25])))
    ip[10:12] = struct.pack(">H", csum(bytes(ip)))
    fr = bytes(ip) + part
    recs += bytes([0]) + struct.pack(">H", len(fr)) + fr
put("pkt", "frag4", recs)
put("engine", "frag4", b"\0" + recs)
recs = b""
src6 = bytes.fromhex("20010db8010000000000000000000007")
dst6 = bytes.fromhex("20010db8002500000000000000000025")
for off in range(0, len(seg), 48):
    part = seg[off:off + 48]
    m = 1 if off + 48 < len(seg) else 0
    # hop-by-hop (8 bytes of padding) then a fragment header
    hbh = bytes([44, 0, 1, 4, 0, 0, 0, 0])
    fh = struct.pack(">BBHI", 6, 0, off | m, 0xabcdef)
    pl = hbh + fh + part
    ip = struct.pack(">IHBB16s16s", 0x60000000, len(pl), 0, 64, src6, dst6)
    fr = ip + pl
    recs += bytes([0]) + struct.pack(">H", len(fr)) + fr
put("pkt", "frag6", recs)
put("engine", "frag6", b"\0" + recs)
