"""The IMAP client of bench/imap: Python's imaplib, the client the issue's
Dovecot figures were taken with. It runs the measured operations RUNS
times and prints one JSON object of lists of seconds.

imaplib parses every response line in Python (about 3 us a line), which
is most of the time of a FETCH 1:* at 100,000 messages: the raw_ keys
time the same two FETCH commands read by a plain socket to the tagged
response, without parsing, which is what the server itself takes.

    client.py HOST PORT USER PASSWORD RUNS [FIRST]

FIRST numbers the first run (0 by default): STORE adds \\Seen in even
runs and removes it in odd ones, so that every run changes 1,000 flags.
"""
import imaplib
import json
import socket
import sys
import time

host, port, user, password, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
first = int(sys.argv[6]) if len(sys.argv) > 6 else 0
res = {k: [] for k in ("login_select", "fetch_flags", "fetch_envelope", "search_unseen", "store_seen",
                       "raw_fetch_flags", "raw_fetch_envelope")}


def timed(key, f):
    t0 = time.perf_counter()
    out = f()
    res[key].append(time.perf_counter() - t0)
    return out


class Raw:
    """An IMAP connection read with plain recv calls."""

    def __init__(self):
        self.sock = socket.create_connection((host, port))
        self.tail = b""
        self.read_to(b"* OK")

    def read_to(self, marker):
        """Reads until a line starting with marker has ended; returns the bytes read."""
        n = 0
        data = self.tail
        while True:
            if data.startswith(marker) or b"\r\n" + marker in data:
                i = data.find(marker) if data.startswith(marker) else data.find(b"\r\n" + marker) + 2
                j = data.find(b"\r\n", i)
                if j >= 0:
                    self.tail = data[j + 2:]
                    return n
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("connection closed")
            n += len(chunk)
            data = data[-200:] + chunk

    def cmd(self, tag, line):
        self.sock.sendall(tag + b" " + line + b"\r\n")
        return self.read_to(tag + b" OK")


def raw_ops():
    c = Raw()
    c.cmd(b"a", b"LOGIN " + user.encode() + b" " + password.encode())
    c.cmd(b"b", b"EXAMINE INBOX")
    n = timed("raw_fetch_flags", lambda: c.cmd(b"c", b"UID FETCH 1:* (FLAGS)"))
    assert n > 0
    timed("raw_fetch_envelope", lambda: c.cmd(b"d", b"FETCH 1:* (ENVELOPE)"))
    c.cmd(b"e", b"LOGOUT")
    c.sock.close()


for r in range(first, first + runs):
    def login_select():
        m = imaplib.IMAP4(host, port)
        m.login(user, password)
        typ, d = m.select("INBOX")
        assert typ == "OK", d
        return m, int(d[0])
    m, n = timed("login_select", login_select)
    typ, d = timed("fetch_flags", lambda: m.uid("FETCH", "1:*", "(FLAGS)"))
    assert typ == "OK" and len(d) == n, (typ, len(d), n)
    typ, d = timed("fetch_envelope", lambda: m.fetch("1:*", "(ENVELOPE)"))
    assert typ == "OK" and len(d) >= n, (typ, len(d), n)
    typ, d = timed("search_unseen", lambda: m.uid("SEARCH", None, "UNSEEN"))
    assert typ == "OK", d
    op = "+FLAGS" if r % 2 == 0 else "-FLAGS"
    typ, d = timed("store_seen", lambda: m.store("1:1000", op, "(\\Seen)"))
    assert typ == "OK", d
    m.logout()
    raw_ops()
print(json.dumps(res))
