"""Walks the IMAP view with Python's imaplib: LIST, SELECT, FETCH,
SEARCH, STORE. Usage: imaplib_walk.py HOST PORT USER PASSWORD.
Prints one line per check; exits non-zero on the first failure."""
import imaplib
import sys

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


def check(cond, what):
    if not cond:
        print("FAIL", what)
        sys.exit(1)
    print("ok", what)


m = imaplib.IMAP4(host, port)
typ, _ = m.login(user, password)
check(typ == "OK", "login")

typ, boxes = m.list()
names = [b.decode() for b in boxes]
check(typ == "OK" and any('"INBOX"' in n or n.endswith(" INBOX") for n in names), "list has INBOX")
check(any("Filters/Group/Gold/Unread" in n for n in names), "list has Filters/Group/Gold/Unread")
check(any("\\Sent" in n and "Sent" in n for n in names), "Sent is \\Sent")

typ, data = m.select("INBOX")
check(typ == "OK" and int(data[0]) == 3, "select INBOX: 3 messages")

typ, data = m.fetch("1:*", "(UID FLAGS RFC822.SIZE ENVELOPE)")
check(typ == "OK" and len([d for d in data if d]) == 3, "fetch 1:* flags, size, envelope")

typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (X-PARTNER-TEAM SUBJECT)])")
hdr = data[0][1].decode()
check("X-Partner-Team:" in hdr and "Subject:" in hdr and "From:" not in hdr, "header fields")

typ, data = m.uid("SEARCH", None, "UNSEEN")
check(typ == "OK" and len(data[0].split()) == 3, "uid search unseen: 3")

typ, data = m.search(None, "HEADER", "X-Partner-Group", "Silver")
check(typ == "OK" and data[0].split() == [b"3"], "search header X-Partner-Group Silver")

typ, data = m.search(None, "SUBJECT", "pricing")
check(typ == "OK" and data[0].split() == [b"1"], "search subject")

typ, data = m.search(None, "BODY", "budget")
check(typ == "OK" and data[0].split() == [b"2"], "search body")

typ, data = m.store("1", "+FLAGS", "(\\Seen \\Flagged)")
check(typ == "OK" and b"\\Seen" in data[0] and b"\\Flagged" in data[0], "store +flags")

typ, data = m.search(None, "UNSEEN")
check(typ == "OK" and data[0].split() == [b"2", b"3"], "unseen after store")

typ, data = m.fetch("2", "(RFC822)")
check(typ == "OK" and b"budget" in data[0][1], "fetch RFC822 (marks read)")

typ, data = m.status("Unread", "(MESSAGES UNSEEN UIDNEXT)")
check(typ == "OK" and b"MESSAGES 1" in data[0], "status Unread: one left")

typ, data = m.store("1", "-FLAGS", "(\\Seen)")
check(typ == "OK", "mark unread")
typ, data = m.status("Unread", "(MESSAGES)")
check(b"MESSAGES 2" in data[0], "status Unread after mark unread: 2")

typ, data = m.select("Unread", readonly=True)
check(typ == "OK", "examine Unread")
typ, data = m.fetch("1:*", "(BODY[])")
check(typ == "OK", "fetch body under examine")
typ, data = m.status("Unread", "(MESSAGES)")
check(b"MESSAGES 2" in data[0], "examine did not mark read")

m.logout()
print("DONE")
