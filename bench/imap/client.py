"""The IMAP client of bench/imap: Python's imaplib, the client the issue's
Dovecot figures were taken with. It runs the measured operations RUNS
times and prints one JSON object of lists of seconds.

    client.py HOST PORT USER PASSWORD RUNS [FIRST]

FIRST numbers the first run (0 by default): STORE adds \\Seen in even
runs and removes it in odd ones, so that every run changes 1,000 flags.
"""
import imaplib
import json
import sys
import time

host, port, user, password, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
first = int(sys.argv[6]) if len(sys.argv) > 6 else 0
res = {k: [] for k in ("login_select", "fetch_flags", "fetch_envelope", "search_unseen", "store_seen")}


def timed(key, f):
    t0 = time.perf_counter()
    out = f()
    res[key].append(time.perf_counter() - t0)
    return out


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
print(json.dumps(res))
