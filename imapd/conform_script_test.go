package imapd

import "strings"

// step is one command of the conformance script: "{}" marks where each
// literal goes; %F, %F2 and %F3 name the folders under test.
type step struct {
	line string // "2> " first: sent on the user's second connection
	lits [][]byte
}

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

var (
	conformPlain = crlf(`From: Ann Partner <ann@partner.example>
To: Staff <staff@acme.example>, "Bob, Jr." <bob@acme.example>
Cc: undisclosed-recipients:;
Subject: Quarterly report
Date: Mon, 07 Dec 2026 09:00:00 +0100
Message-ID: <m1@partner.example>
X-Priority: 3
Content-Type: text/plain; charset=us-ascii

Hello team,
the report is attached in spirit.
Regards, Ann
`)
	conformMixed = crlf(`From: "Sue" <sue@solo.example>
Sender: relay@solo.example
Reply-To: replies@solo.example
To: partners@acme.example
Subject: Figures and a picture
Date: Sun, 06 Dec 2026 18:00:00 -0500
Message-ID: <m2@solo.example>
In-Reply-To: <m1@partner.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble text
--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Caf=C3=A9 figures below.
--inner
Content-Type: text/html; charset=utf-8

<p>Caf&eacute; figures below.</p>
--inner--
--outer
Content-Type: image/png; name="dot.png"
Content-Disposition: attachment; filename="dot.png"
Content-Transfer-Encoding: base64
Content-ID: <dot@solo.example>
Content-Description: a dot

iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGA
WjR9awAAAABJRU5ErkJggg==
--outer--
epilogue
`)
	conformForward = crlf(`From: =?utf-8?q?Gr=C3=BC=C3=9Fe?= <gruesse@partner.example>
To: partners@acme.example, group: one@x.example, two@x.example;
Subject: =?utf-8?b?R3LDvMOfZSBhdXMgQmVybGlu?=
Date: Thu, 01 Jan 2026 00:00:00 +0000
Message-ID: <m3@partner.example>
References: <m1@partner.example> <m2@solo.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b3

--b3
Content-Type: text/plain

See the forwarded message.
--b3
Content-Type: message/rfc822

From: inner@partner.example
Subject: The inner one
Date: Wed, 31 Dec 2025 12:00:00 +0000
Content-Type: text/plain; charset=us-ascii

Inner body line one.
Inner body line two.
--b3--
`)
	conformHeadOnly = crlf(`From: draft@acme.example
Subject: only headers

`)
	conformEightBit = crlf(`From: eve@partner.example
To: partners@acme.example
Subject: eight bit
Date: Mon, 07 Dec 2026 12:00:00 +0000
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
X-Tracking: needle-7

Grüße, the needle is here.
`)
)

// conformScript walks a mailbox the way clients do, errors included.
var conformScript = []step{
	{`APPEND %F (\Flagged $Label1) "07-Dec-2026 10:00:00 +0000" {}`, [][]byte{conformPlain}},
	{`APPEND %F () "06-Dec-2026 23:30:00 -0500" {}`, [][]byte{conformMixed}},
	{`APPEND %F (\Seen) " 1-Jan-2026 00:00:00 +0000" {}`, [][]byte{conformForward}},
	{`APPEND %F (\Draft) {}`, [][]byte{conformHeadOnly}},
	{`APPEND %F "07-Dec-2026 12:00:00 +0000" {}`, [][]byte{conformEightBit}},
	{`STATUS %F (MESSAGES UIDNEXT UNSEEN)`, nil},
	{`SELECT %F`, nil},
	{`FETCH 1:* (UID FLAGS RFC822.SIZE)`, nil},
	{`FETCH 1:3 INTERNALDATE`, nil},
	{`FETCH 5 INTERNALDATE`, nil},
	{`FETCH 1:* ENVELOPE`, nil},
	{`FETCH 1:* BODYSTRUCTURE`, nil},
	{`FETCH 1:* BODY`, nil},
	{`UID FETCH 1:* (BODY.PEEK[HEADER] BODY.PEEK[TEXT])`, nil},
	{`FETCH 2 (BODY.PEEK[1] BODY.PEEK[1.1] BODY.PEEK[1.2.MIME] BODY.PEEK[2] BODY.PEEK[2.MIME])`, nil},
	{`FETCH 3 (BODY.PEEK[2] BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT] BODY.PEEK[2.1] BODY.PEEK[2.MIME])`, nil},
	{`FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject FROM x-priority)] BODY.PEEK[HEADER.FIELDS.NOT (Subject Received)])`, nil},
	{`FETCH 1 (BODY.PEEK[]<0.20> BODY.PEEK[]<20.100000> BODY.PEEK[TEXT]<5.7> BODY.PEEK[1]<3.4>)`, nil},
	{`FETCH 2 BODY.PEEK[3]`, nil},
	{`FETCH 1 RFC822.HEADER`, nil},
	{`FETCH 5 RFC822.TEXT`, nil},
	{`FETCH 2 BODY[TEXT]`, nil},
	{`FETCH 4 RFC822`, nil},
	{`FETCH 1:* FLAGS`, nil},
	{`FETCH 1:3,5 FAST`, nil}, // 4 was appended without a date: now, a second apart
	{`FETCH 2 ALL`, nil},
	{`FETCH * UID`, nil},
	{`SEARCH ALL`, nil},
	{`SEARCH UNSEEN`, nil},
	{`SEARCH SEEN FLAGGED`, nil},
	{`SEARCH KEYWORD $Label1`, nil},
	{`SEARCH UNKEYWORD $Label1`, nil},
	{`SEARCH DRAFT`, nil},
	{`SEARCH FROM "partner.example"`, nil},
	{`SEARCH TO bob`, nil},
	{`SEARCH CC undisclosed`, nil},
	{`SEARCH SUBJECT report`, nil},
	{`SEARCH HEADER X-Tracking needle`, nil},
	{`SEARCH HEADER Message-ID ""`, nil},
	{`SEARCH BODY needle`, nil},
	{`SEARCH TEXT "Inner body"`, nil},
	{`SEARCH LARGER 500`, nil},
	{`SEARCH SMALLER 500`, nil},
	{`SEARCH SINCE 07-Dec-2026`, nil},
	{`SEARCH BEFORE 02-Jan-2026`, nil},
	{`SEARCH SENTSINCE 06-Dec-2026`, nil},
	{`SEARCH SENTON 1-Jan-2026`, nil},
	{`SEARCH OR FLAGGED DRAFT`, nil},
	{`SEARCH NOT SEEN NOT DRAFT`, nil},
	{`SEARCH 2:4 UNDRAFT`, nil},
	{`UID SEARCH UID 3:*`, nil},
	{`SEARCH CHARSET UTF-8 SUBJECT {}`, [][]byte{[]byte("Grüße")}},
	{`SEARCH CHARSET UTF-8 BODY {}`, [][]byte{[]byte("Grüße")}},
	{`SEARCH RETURN (MIN MAX COUNT) UNSEEN`, nil},
	{`UID SEARCH RETURN (ALL) SEEN`, nil},
	{`FETCH 2 (BINARY.PEEK[1.1] BINARY.SIZE[1.1] BINARY.PEEK[2]<0.8>)`, nil},
	{`UID FETCH 100:* UID`, nil},
	{`STORE 1 +FLAGS (\Answered)`, nil},
	{`STORE 1 -FLAGS (\Flagged)`, nil},
	{`STORE 2 FLAGS (\Deleted $Foo)`, nil},
	{`STORE 3 +FLAGS.SILENT (\Flagged)`, nil},
	{`UID STORE 1:* +FLAGS.SILENT (Junk)`, nil},
	{`STORE 1 -FLAGS.SILENT ($Label1)`, nil},
	{`FETCH 1:* FLAGS`, nil},
	{`SELECT %F`, nil},
	{`COPY 1:2 %F2`, nil},
	{`UID COPY 5 %F2`, nil},
	{`COPY 1 %F-missing`, nil},
	{`STATUS %F2 (MESSAGES UIDNEXT UNSEEN)`, nil},
	{`LIST "" "%F*"`, nil},
	{`SUBSCRIBE %F`, nil},
	{`SUBSCRIBE %F2`, nil},
	{`LSUB "" "%F*"`, nil},
	{`UNSUBSCRIBE %F2`, nil},
	{`LSUB "" "%F*"`, nil},
	{`LIST (SUBSCRIBED) "" "%F*"`, nil},
	{`LIST "" "%F*" RETURN (SUBSCRIBED)`, nil},
	{`NAMESPACE`, nil},
	{`CHECK`, nil},
	{`CREATE %F/Sub`, nil},
	{`LIST "" "%F/*"`, nil},
	{`LIST "" "%F"`, nil},
	{`RENAME %F/Sub %F/Sub2`, nil},
	{`LIST "" "%F/*"`, nil},
	{`DELETE %F/Sub2`, nil},
	{`APPEND %F2 {}`, [][]byte{{}}},
	{`MOVE 3 %F2`, nil},
	{`UID MOVE 99 %F2`, nil},
	{`EXPUNGE`, nil},
	{`FETCH 1:* (UID FLAGS)`, nil},
	{`STORE 1 +FLAGS.SILENT (\Deleted)`, nil},
	{`UID EXPUNGE 2`, nil},
	{`UID FETCH 1:* UID`, nil},
	{`NOOP`, nil},
	{`APPEND %F-missing {}`, [][]byte{conformHeadOnly}},
	{`EXAMINE %F2`, nil},
	{`FETCH 1:* FLAGS`, nil},
	{`FETCH 1 BODY[TEXT]`, nil},
	{`FETCH 1 FLAGS`, nil},
	{`STORE 1 +FLAGS (\Seen)`, nil},
	{`EXPUNGE`, nil},
	{`CLOSE`, nil},
	{`SELECT %F2`, nil},
	{`FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE)`, nil},
	{`STORE 1:2 +FLAGS (\Deleted)`, nil},
	{`CLOSE`, nil},
	{`STATUS %F2 (MESSAGES UIDNEXT UIDVALIDITY)`, nil},
	{`RENAME %F2 %F3`, nil},
	{`LSUB "" "%F*"`, nil},
	{`LIST "" %F3`, nil},
	{`LIST "" %F2`, nil},
	{`STATUS %F3 (MESSAGES)`, nil},
	{`SELECT %F3`, nil},
	{`FETCH 1 BODY[]`, nil},
	{`UNSELECT`, nil},
	{`DELETE %F3`, nil},
	{`LSUB "" "%F*"`, nil},
	{`SUBSCRIBE %F-missing`, nil},
	{`LSUB "" "%F*"`, nil},
	{`LIST (SUBSCRIBED) "" "%F*"`, nil},
	{`LIST "" "%F*" RETURN (SUBSCRIBED)`, nil},
	{`UNSUBSCRIBE %F-missing`, nil},
	{`LSUB "" "%F*"`, nil},
	{`LIST "" %F3`, nil},
	{`SELECT %F3`, nil},
	{`SELECT %F`, nil},
	{`FETCH 99 FLAGS`, nil},
	{`UID FETCH 99 FLAGS`, nil},
	{`FETCH 1 BODY[9]`, nil},
	{`STORE 1 +FLAGS (\Recent)`, nil},
	{`SEARCH UID 99`, nil},
	{`CREATE %F`, nil},
	{`DELETE %F-missing`, nil},
	// A second session on the same folder hears of the first's changes.
	{"2> SELECT %F", nil},
	{`STORE 1 +FLAGS (\Flagged)`, nil},
	{"2> NOOP", nil},
	{`APPEND %F ($Appended) {}`, [][]byte{conformPlain}},
	{"2> NOOP", nil},
	{`STORE 2 +FLAGS.SILENT (\Deleted)`, nil},
	{`EXPUNGE`, nil},
	{"2> NOOP", nil},
	{"2> FETCH 1:* (UID FLAGS)", nil},
	{"2> STORE 1 +FLAGS ($Fresh)", nil},
	{`NOOP`, nil},
	{"2> MOVE 1 %F2", nil},
	{`NOOP`, nil},
	{`UID FETCH 1:* UID`, nil},
	{`SEARCH RETURN (SAVE) FLAGGED`, nil},
	{`FETCH $ (UID FLAGS)`, nil},
	{`STATUS %F (MESSAGES UNSEEN UIDNEXT)`, nil},
	{`FETCH 1 (BODY.PEEK[HEADER.FIELDS (X-Nowhere)] BODY.PEEK[]<100000.10> BODY.PEEK[TEXT]<0.0>)`, nil},
	{`SEARCH CHARSET X-NOSUCH SUBJECT x`, nil},
	{`SEARCH NEW`, nil},
	{`SEARCH OLD`, nil},
	{`SEARCH RECENT`, nil},
	{`STORE 1 +FLAGS (\Nonsense)`, nil},
	{`APPEND %F (\Nonsense) {}`, [][]byte{conformHeadOnly}},
	{`COPY 1 %F`, nil},
	{`NOOP`, nil},
	{`UID EXPUNGE 1:*`, nil},
	{`CREATE %F4/`, nil},
	{`LIST "" %F4`, nil},
	{`CREATE %F4/Child`, nil},
	{`DELETE %F4`, nil},
	{`LIST "" "%F4*"`, nil},
	{`CREATE %F4`, nil},
	{`RENAME %F4 %F5`, nil},
	{`LIST "" "%F5*"`, nil},
	{`CREATE "%F-&AOk-t&AOk-"`, nil},
	{`LIST "" "%F-&AOk-*"`, nil},
	{`LIST "" ""`, nil},
	{`LIST "%F5/" "*"`, nil},
	// A client that saves bare LF line ends.
	{`APPEND %F {}`, [][]byte{[]byte("From: lf@partner.example\nSubject: bare LF\n\nline one\nline two\n")}},
	{`NOOP`, nil},
	{`FETCH * (RFC822.SIZE BODY.PEEK[] BODY.PEEK[HEADER] BODYSTRUCTURE)`, nil},
	// Odd but legal requests, and illegal ones.
	{`FETCH 1 BODY.PEEK[0]`, nil},
	{`FETCH 1 BODY.PEEK[1.HEADER]`, nil},
	{`FETCH 1 BODY.PEEK[HEADER.FIELDS ()]`, nil},
	{`UID FETCH 9:1 UID`, nil},
	{`SEARCH 4:1`, nil},
	{`FETCH 1:* (FLAGS ENVELOPE)`, nil},
	{`SEARCH NOT (FLAGGED SEEN)`, nil},
	{`SEARCH FLAGGED SEEN`, nil},
	{`SEARCH NOT FLAGGED`, nil},
	{`SEARCH OR (FROM lf) (SUBJECT quarterly)`, nil},
	{`SEARCH HEADER Content-Type plain`, nil},
	{`SEARCH ON 7-Dec-2026`, nil},
	{`SEARCH BEFORE 7-Dec-2026`, nil},
	{`SEARCH SENTBEFORE 7-Dec-2026`, nil},
	{`SEARCH UID 1,3:4,7:*`, nil},
	{`STORE 1 FLAGS ()`, nil},
	{`STORE 1:* -FLAGS (\Seen)`, nil},
	{`UID STORE 99 +FLAGS (\Seen)`, nil},
	{`EXPUNGE`, nil},
	{`RENAME %F %F`, nil},
	{`RENAME %F-missing %F-other`, nil},
	{`APPEND %F {}`, [][]byte{crlf("From: x@y.example\nSubject: Grüße aus Köln\nTo: \"Jörg\" <j@y.example>\n\nbody\n")}},
	{`NOOP`, nil},
	{`FETCH * (ENVELOPE BODYSTRUCTURE)`, nil},
	{`EXAMINE %F`, nil},
	{`STORE 1 +FLAGS.SILENT (\Deleted)`, nil},
	{`CLOSE`, nil},
	{`STATUS %F (MESSAGES)`, nil},
	// Last: Dovecot stores the first, so the folders differ after it.
	{`APPEND %F "not a date" {}`, [][]byte{conformHeadOnly}},
	{`APPEND %F (\Seen) "31-Feb-2026 10:00:00 +0000" {}`, [][]byte{conformHeadOnly}},
}
