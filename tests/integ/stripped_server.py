#!/usr/bin/env python3
"""stripped_server.py - an SMTP server whose EHLO reply arrives stripped.

    stripped_server.py ADDRESS MSS LOGFILE

Listens on ADDRESS:25 with the segment size clamped to MSS (TCP_MAXSEG,
inherited by accepted connections), greets, and answers EHLO with one
reply of several hundred bytes written in a single send: the kernel cuts it
into back-to-back segments of MSS bytes, only the last with PSH -- what a
router's GRO merges again. Its STARTTLS reads XXXXXXXX, as an attacker
upstream of the gateway would have left it. MAIL, RCPT, DATA, RSET, NOOP
get 250/354, QUIT 221. Every command received is appended to LOGFILE
("cmd VERB"), so the test can tell whether a MAIL ever reached the server.
Prints "listening" once ready. Test tool: one connection at a time.
"""
import socket
import sys

addr, mss, logfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]

# 20 capability lines of padding around the stripped keyword: the reply
# spans many MSS-sized segments whatever MSS the test picks.
CAPS = ["PIPELINING", "SIZE 10240000", "VRFY", "ETRN"] + \
       ["X-PADDING-%02d %s" % (i, "p" * 24) for i in range(16)] + \
       ["XXXXXXXX", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN"]
REPLY = "250-mx.example.net\r\n" + "".join(
    ("250-" if i + 1 < len(CAPS) else "250 ") + c + "\r\n" for i, c in enumerate(CAPS))

fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
srv = socket.socket(fam, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
srv.bind((addr, 25))
srv.listen(8)
print("listening", flush=True)


def log(line):
    with open(logfile, "a") as f:
        f.write(line + "\n")


while True:
    conn, peer = srv.accept()
    log("connection %s" % (peer[0],))
    try:
        conn.sendall(b"220 mx.example.net ESMTP stripped-server\r\n")
        rf = conn.makefile("rb")
        in_data = False
        for raw in rf:
            line = raw.decode("latin-1").rstrip("\r\n")
            if in_data:
                if line == ".":
                    in_data = False
                    conn.sendall(b"250 2.0.0 Ok: queued\r\n")
                continue
            verb = line.split(" ", 1)[0].upper()
            log("cmd " + verb)
            if verb in ("EHLO", "HELO"):
                conn.sendall(REPLY.encode())
            elif verb == "DATA":
                in_data = True
                conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == "QUIT":
                conn.sendall(b"221 2.0.0 Bye\r\n")
                break
            else:
                conn.sendall(b"250 2.0.0 Ok\r\n")
    except OSError as e:
        log("reset %r" % (e,))
    finally:
        conn.close()
