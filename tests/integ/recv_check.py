#!/usr/bin/env python3
"""recv_check.py - what the end hosts received, against the first copy.

  recv_check.py SENT.pcap T0 T1 RECV.pcap... [--absent TEXT]...

(t11_evasion_inline.sh): SENT.pcap is the capture that
stg_replay sent; RECV.pcap are captures taken (tcpdump -Q in) in the
namespaces the replayed packets arrive in. Only packets captured between
the wall-clock times T0 and T1 (seconds) count. From SENT, the "first copy"
of every byte of every TCP direction: the bytes of the first segment (in
sending order, with a correct checksum, no RST) that carried that sequence
number, leaving out segments the receiver drops and the gateway therefore
neither inspects nor forwards (no ACK flag, an ACK of bytes the receiver
never sent, a TCP-MD5/AO option); that is what the gateway inspects (first
copy wins). Then every
payload byte received (IPv4/IPv6 fragments reassembled first) must equal
the first copy at its sequence number. Segments that arrive with a wrong
TCP checksum are counted, not compared: the receiver drops them. --absent
TEXT: no received frame may contain TEXT (raw bytes, fragments unmerged).

Prints one "key=value ..." summary line (segments, bytes, conflicts,
unknown: bytes no first copy has, badcsum, frags: fragments received,
datagrams: of them reassembled, frag_conflicts, absent: frames holding an
--absent text), then one line per problem; exits 1 on a conflict, a
fragment conflict or an --absent hit, else 0.
"""
import struct
import sys


def read_pcap(path):
    """Yield (ts, linktype, frame) of a classic pcap file (either byte order,
    micro- or nanosecond stamps)."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        raise SystemExit('%s: not a pcap file' % path)
    nano = magic in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d')
    linktype = struct.unpack(e + 'I', data[20:24])[0] & 0x0fffffff
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(e + 'IIII', data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        yield sec + frac / (1e9 if nano else 1e6), linktype, frame


def l3_of(linktype, frame):
    """The IP datagram of a frame, or None."""
    if linktype == 1:           # Ethernet
        et, o = struct.unpack('>H', frame[12:14])[0], 14
        while et in (0x8100, 0x88a8) and len(frame) >= o + 4:
            et, o = struct.unpack('>H', frame[o + 2:o + 4])[0], o + 4
        return frame[o:] if et in (0x0800, 0x86dd) else None
    if linktype == 113:         # Linux cooked
        et = struct.unpack('>H', frame[14:16])[0]
        return frame[16:] if et in (0x0800, 0x86dd) else None
    if linktype in (12, 101):   # raw IP
        return frame
    return None


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('>%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


class Frag:
    """One datagram being put together from fragments (first copy wins)."""

    def __init__(self):
        self.bytes = {}
        self.end = None
        self.first = None       # header info from the fragment at offset 0
        self.conflict = False


def decode(ip, frags, stats):
    """Return (af, src, dst, proto, l4 bytes) of a whole datagram, or None
    (a fragment not yet complete, not IP)."""
    if not ip:
        return None
    v = ip[0] >> 4
    if v == 4:
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack('>H', ip[2:4])[0]
        ip = ip[:tot]
        src, dst, proto = ip[12:16], ip[16:20], ip[9]
        fl = struct.unpack('>H', ip[6:8])[0]
        off, mf = (fl & 0x1fff) * 8, bool(fl & 0x2000)
        body = ip[ihl:]
        if off == 0 and not mf:
            return 4, src, dst, proto, body
        key = (4, src, dst, proto, ip[4:6])
    elif v == 6:
        plen = struct.unpack('>H', ip[4:6])[0]
        ip = ip[:40 + plen]
        src, dst, nh, o = ip[8:24], ip[24:40], ip[6], 40
        fraghdr = None
        while nh in (0, 43, 60, 44):
            if nh == 44:
                fraghdr = ip[o:o + 8]
                nh, o = ip[o], o + 8
                break
            nh, o = ip[o], o + (ip[o + 1] + 1) * 8
        proto, body = nh, ip[o:]
        if fraghdr is None:
            return 6, src, dst, proto, body
        fo = struct.unpack('>H', fraghdr[2:4])[0]
        off, mf = fo & 0xfff8, bool(fo & 1)
        key = (6, src, dst, fraghdr[4:8])
        if off == 0 and not mf:
            return 6, src, dst, proto, body
    else:
        return None
    stats['frags'] += 1
    d = frags.setdefault(key, Frag())
    if off == 0:
        d.first = proto
    if not mf:
        d.end = off + len(body)
    for i, b in enumerate(body):
        old = d.bytes.setdefault(off + i, b)
        if old != b:
            d.conflict = True
    if d.end is None or d.first is None or len(d.bytes) < d.end or \
            any(i not in d.bytes for i in range(d.end)):
        return None
    del frags[key]
    stats['datagrams'] += 1
    if d.conflict:
        stats['frag_conflicts'] += 1
        stats['problems'].append('fragments of one datagram %s -> %s carry different bytes'
                                 % (addr(key[0], src), addr(key[0], dst)))
    return key[0], src, dst, d.first, bytes(d.bytes[i] for i in range(d.end))


def addr(af, a):
    if af == 4:
        return '.'.join(str(x) for x in a)
    return ':'.join('%x' % struct.unpack('>H', a[i:i + 2])[0] for i in range(0, 16, 2))


def tcp_of(af, src, dst, proto, l4):
    """(flowkey, seq, flags, payload, checksum_ok) or None."""
    if proto != 6 or len(l4) < 20:
        return None
    sport, dport, seq = struct.unpack('>HHI', l4[:8])
    doff = (l4[12] >> 4) * 4
    flags = l4[13]
    if af == 4:
        ph = src + dst + struct.pack('>BBH', 0, 6, len(l4))
    else:
        ph = src + dst + struct.pack('>I', len(l4)) + b'\0\0\0\x06'
    ok = csum(ph + l4) == 0xffff
    key = (af, src, sport, dst, dport)
    return key, seq, flags, l4[doff:], ok


def name(key):
    af, s, sp, d, dp = key
    return '%s.%d > %s.%d' % (addr(af, s), sp, addr(af, d), dp)


def auth_option(l4):
    """Does the TCP header carry a TCP-MD5 (kind 19, length 18, as Linux
    finds it) or TCP-AO (kind 29) option?"""
    opt, i = l4[20:(l4[12] >> 4) * 4], 0
    while i < len(opt):
        kind = opt[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opt) or opt[i + 1] < 2 or opt[i + 1] > len(opt) - i:
            break
        if kind == 29 or (kind == 19 and opt[i + 1] == 18):
            return True
        if kind == 19:
            return False
        i += opt[i + 1]
    return False


def receiver_drops(key, flags, l4, sent_end):
    """Would the receiver drop this (non-RST) segment before reading it?"""
    if flags & 0x02:
        return False
    if not flags & 0x10 or auth_option(l4):
        return True
    af, s, sp, d, dp = key
    back = sent_end.get((af, d, dp, s, sp))
    ack = struct.unpack('>I', l4[8:12])[0]
    return back is not None and 0 < ((ack - back) & 0xffffffff) < 0x80000000


def first_copy(path):
    first = {}
    frags = {}
    sent_end = {}       # per direction: the sequence number after the last byte sent
    st = {'frags': 0, 'datagrams': 0, 'frag_conflicts': 0, 'problems': []}
    for _ts, lt, frame in read_pcap(path):
        dg = decode(l3_of(lt, frame), frags, st)
        t = dg and tcp_of(*dg)
        if not t:
            continue
        key, seq, flags, pl, ok = t
        if not ok or flags & 0x04 or receiver_drops(key, flags, dg[4], sent_end):
            continue
        end = (seq + len(pl) + (1 if flags & 0x03 else 0)) & 0xffffffff
        old = sent_end.get(key)
        if old is None or 0 < ((end - old) & 0xffffffff) < 0x80000000:
            sent_end[key] = end
        if not pl:
            continue
        m = first.setdefault(key, {})
        for i, b in enumerate(pl):
            m.setdefault((seq + i) & 0xffffffff, b)
    return first


def main(argv):
    absent, args = [], []
    i = 1
    while i < len(argv):
        if argv[i] == '--absent':
            absent.append(argv[i + 1].encode())
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) < 4:
        print('usage: recv_check.py SENT.pcap T0 T1 RECV.pcap... [--absent TEXT]...', file=sys.stderr)
        return 2
    sent, t0, t1, recv = args[0], float(args[1]), float(args[2]), args[3:]
    first = first_copy(sent)
    st = {'segments': 0, 'bytes': 0, 'conflicts': 0, 'unknown': 0, 'badcsum': 0,
          'frags': 0, 'datagrams': 0, 'frag_conflicts': 0, 'absent': 0,
          'problems': []}
    for path in recv:
        frags = {}
        for ts, lt, frame in read_pcap(path):
            if not t0 <= ts <= t1:
                continue
            for a in absent:
                if a in frame:
                    st['absent'] += 1
                    st['problems'].append('%s: a received frame holds %r' % (path, a.decode()))
            dg = decode(l3_of(lt, frame), frags, st)
            t = dg and tcp_of(*dg)
            if not t or not t[3]:
                continue
            key, seq, _flags, pl, ok = t
            if not ok:
                st['badcsum'] += 1
                continue
            st['segments'] += 1
            st['bytes'] += len(pl)
            m = first.get(key, {})
            bad = [k for k, b in enumerate(pl)
                   if m.get((seq + k) & 0xffffffff, b) != b]
            st['unknown'] += sum(1 for k in range(len(pl))
                                 if (seq + k) & 0xffffffff not in m)
            if bad:
                st['conflicts'] += len(bad)
                a, b = bad[0], bad[-1] + 1
                want = bytes(m[(seq + k) & 0xffffffff] for k in range(a, b))
                st['problems'].append('%s seq %u+%d: received %r, the first copy is %r'
                                      % (name(key), seq, a, pl[a:b], want))
    print(' '.join('%s=%s' % (k, v) for k, v in st.items() if k != 'problems'))
    for p in st['problems'][:20]:
        print('  ' + p)
    return 1 if st['conflicts'] or st['frag_conflicts'] or st['absent'] else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
