#!/usr/bin/env python3
"""smtp_session.py - one plaintext SMTP session for the integration tests.

    smtp_session.py HOST TAG [GOFILE]

Connects to HOST:25, reads the banner, says EHLO and, if GOFILE is given,
waits until that file exists before the mail transaction (a session that
is "in progress" across a gateway restart). Never uses STARTTLS. The
recipient is user@example.net, or $STG_RCPT. Prints
"ehlo-done" after EHLO and "sent" at the end; exits 0 when the server took
the message, 3 when the connection was reset or closed (blocked), 1 else.
"""
import os
import smtplib
import sys
import time

host, tag = sys.argv[1], sys.argv[2]
rcpt = os.environ.get("STG_RCPT", "user@example.net")   # recipient (environment)
go = sys.argv[3] if len(sys.argv) > 3 else None
msg = ("From: sender@example.org\r\nTo: user@example.net\r\n"
       "Subject: stg test %s\r\n\r\nPlaintext body SECRET-BODY-%s\r\n" % (tag, tag))
try:
    s = smtplib.SMTP(host, 25, local_hostname="client.example.org", timeout=20)
    s.ehlo()
    print("ehlo-done", flush=True)
    if go:
        deadline = time.time() + 60
        while not os.path.exists(go) and time.time() < deadline:
            time.sleep(0.1)
    s.sendmail("sender@example.org", [rcpt], msg)
    s.quit()
    print("sent", flush=True)
    sys.exit(0)
except (smtplib.SMTPServerDisconnected, ConnectionError, OSError) as e:
    print("reset: %r" % (e,), flush=True)
    sys.exit(3)
except smtplib.SMTPException as e:
    print("smtp error: %r" % (e,), flush=True)
    sys.exit(1)
