package imapd

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawConn speaks IMAP by hand: for what client libraries would not send,
// and to compare two servers' answers to the same command lines.
type rawConn struct {
	t   *testing.T
	c   net.Conn
	r   *bufio.Reader
	tag int
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc := &rawConn{t: t, c: c, r: bufio.NewReader(c)}
	rc.line() // greeting
	return rc
}

func (rc *rawConn) line() string {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := rc.r.ReadString('\n')
	if err != nil {
		rc.t.Fatalf("read: %v (so far %q)", err, l)
	}
	return l
}

// cmd sends raw bytes and reads until the response tagged tag.
func (rc *rawConn) cmd(tag, raw string) string {
	rc.t.Helper()
	if _, err := rc.c.Write([]byte(raw)); err != nil {
		rc.t.Fatal(err)
	}
	var b strings.Builder
	for {
		l := rc.line()
		b.WriteString(l)
		if strings.HasPrefix(l, tag+" ") {
			return b.String()
		}
	}
}

// response reads one response, literals inlined after their {n} line.
func (rc *rawConn) response() string {
	rc.t.Helper()
	var b strings.Builder
	for {
		line := rc.line()
		b.WriteString(line)
		l := strings.TrimRight(line, "\r\n")
		open := strings.LastIndexByte(l, '{')
		if !strings.HasSuffix(l, "}") || open < 0 {
			return b.String()
		}
		n, err := strconv.Atoi(strings.TrimSuffix(l[open+1:len(l)-1], "+"))
		if err != nil {
			return b.String()
		}
		if _, err := io.CopyN(&b, rc.r, int64(n)); err != nil {
			rc.t.Fatalf("read literal: %v", err)
		}
	}
}

// do sends one command; each "{}" in line is replaced by the next literal
// (sent after the server's continuation). It returns the untagged
// responses and the tagged one without its tag.
func (rc *rawConn) do(line string, lits ...[]byte) (untagged []string, tagged string) {
	rc.t.Helper()
	rc.tag++
	tag := fmt.Sprintf("c%d", rc.tag)
	parts := strings.Split(line, "{}")
	if len(parts) != len(lits)+1 {
		rc.t.Fatalf("%q: %d literals for %d places", line, len(lits), len(parts)-1)
	}
	send := tag + " " + parts[0]
	for i, lit := range lits {
		if _, err := fmt.Fprintf(rc.c, "%s{%d}\r\n", send, len(lit)); err != nil {
			rc.t.Fatal(err)
		}
		for cont := false; !cont; {
			resp := rc.response()
			switch {
			case strings.HasPrefix(resp, "+"):
				cont = true
			case strings.HasPrefix(resp, tag+" "):
				return untagged, strings.TrimRight(resp[len(tag)+1:], "\r\n")
			default:
				untagged = append(untagged, resp)
			}
		}
		if _, err := rc.c.Write(lit); err != nil {
			rc.t.Fatal(err)
		}
		send = parts[i+1]
	}
	if _, err := io.WriteString(rc.c, send+"\r\n"); err != nil {
		rc.t.Fatal(err)
	}
	for {
		resp := rc.response()
		if strings.HasPrefix(resp, tag+" ") {
			return untagged, strings.TrimRight(resp[len(tag)+1:], "\r\n")
		}
		untagged = append(untagged, resp)
	}
}

// sexp is a parsed response value: an atom or number (atom), a string
// (str, quoted or literal alike) or a parenthesised list.
type sexp struct {
	atom  string
	str   *string
	list  []sexp
	isLst bool
}

func (s sexp) String() string {
	switch {
	case s.isLst:
		parts := make([]string, len(s.list))
		for i, e := range s.list {
			parts[i] = e.String()
		}
		return "(" + strings.Join(parts, " ") + ")"
	case s.str != nil:
		return strconv.Quote(*s.str)
	}
	return s.atom
}

// parseSexps reads the values of a response after its leading words. An
// atom runs through a bracketed part, so BODY[HEADER.FIELDS (A B)]<0> is
// one atom.
func parseSexps(s string) ([]sexp, string) {
	var out []sexp
	for {
		s = strings.TrimLeft(s, " \r\n")
		if s == "" || s[0] == ')' {
			return out, s
		}
		var e sexp
		switch {
		case s[0] == '(':
			e.isLst = true
			e.list, s = parseSexps(s[1:])
			s = strings.TrimPrefix(s, ")")
		case s[0] == '"':
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			str := b.String()
			e.str, s = &str, s[min(i+1, len(s)):]
		case s[0] == '{' || strings.HasPrefix(s, "~{"): // literal, literal8
			s = strings.TrimPrefix(s, "~")
			end := strings.Index(s, "}\r\n")
			n, _ := strconv.Atoi(strings.TrimSuffix(s[1:max(end, 1)], "+"))
			if end < 0 || end+3+n > len(s) {
				return append(out, sexp{atom: s}), ""
			}
			str := s[end+3 : end+3+n]
			e.str, s = &str, s[end+3+n:]
		default:
			i, depth := 0, 0
			for ; i < len(s); i++ {
				c := s[i]
				if c == '[' {
					depth++
				} else if c == ']' && depth > 0 {
					depth--
				} else if depth == 0 && (c == ' ' || c == '(' || c == ')' || c == '\r' || c == '\n') {
					break
				}
			}
			e.atom, s = s[:i], s[i:]
		}
		out = append(out, e)
	}
}

// normalize turns one step's responses into lines that two correct
// servers agree on: values compared as parsed (a literal equals the same
// quoted string), unordered lists and FETCH items sorted, UIDVALIDITY
// figures and human-readable texts dropped, and the EXPUNGE responses
// turned into the set of original sequence numbers they removed. What it
// drops is allowed to differ by RFC 9051 or is IMAP4rev1's \Recent, which
// the gateway does not keep.
func normalize(untagged []string, tagged string) []string {
	var lines []string
	var expunged []int
	for _, resp := range untagged {
		words := strings.SplitN(strings.TrimRight(resp, "\r\n"), " ", 3)
		if len(words) < 2 {
			lines = append(lines, resp)
			continue
		}
		rest := ""
		if len(words) == 3 {
			rest = words[2]
		}
		if n, err := strconv.Atoi(words[1]); err == nil {
			kind, args, _ := strings.Cut(rest, " ")
			switch strings.ToUpper(kind) {
			case "RECENT":
			case "EXPUNGE":
				expunged = append(expunged, n)
			case "FETCH":
				items, _ := parseSexps(args)
				lines = append(lines, fmt.Sprintf("* %d FETCH %s", n, fetchItems(items)))
			default:
				lines = append(lines, fmt.Sprintf("* %d %s", n, strings.ToUpper(kind)))
			}
			continue
		}
		switch kind := strings.ToUpper(words[1]); kind {
		case "CAPABILITY", "ENABLED":
		case "OK", "NO", "BAD", "BYE":
			if code := statusCode(rest); code != "" || kind != "OK" {
				lines = append(lines, "* "+kind+" "+code)
			}
		case "FLAGS":
			vals, _ := parseSexps(rest)
			lines = append(lines, "* FLAGS "+sortedList(vals))
		case "SEARCH":
			nums := strings.Fields(rest)
			slices.SortFunc(nums, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
			lines = append(lines, "* SEARCH "+strings.Join(nums, " "))
		case "LIST", "LSUB":
			vals, _ := parseSexps(rest)
			if len(vals) == 3 && vals[0].isLst && kind == "LSUB" {
				// LSUB's attributes are loosely defined (RFC 3501
				// 7.2.3); which names it lists is what counts.
				lines = append(lines, fmt.Sprintf("* LSUB %s %s", vals[1], astring(vals[2])))
				continue
			}
			if len(vals) == 3 && vals[0].isLst {
				lines = append(lines, fmt.Sprintf("* %s %s %s %s", kind, sortedList(vals[0].list), vals[1], astring(vals[2])))
				continue
			}
			lines = append(lines, "* "+kind+" "+rest)
		case "STATUS":
			vals, _ := parseSexps(rest)
			if len(vals) == 2 && vals[1].isLst {
				lines = append(lines, fmt.Sprintf("* STATUS %s %s", astring(vals[0]), pairs(vals[1].list)))
				continue
			}
			lines = append(lines, "* STATUS "+rest)
		default:
			lines = append(lines, strings.TrimRight(resp, "\r\n"))
		}
	}
	slices.Sort(lines)
	if len(expunged) > 0 {
		lines = append(lines, "EXPUNGED "+fmt.Sprint(originalSeqs(expunged)))
	}
	status, rest, _ := strings.Cut(tagged, " ")
	return append(lines, strings.TrimSpace(strings.ToUpper(status)+" "+statusCode(rest)))
}

// statusCode returns the [CODE args] of a status response, without its
// text; a UIDVALIDITY figure (alone or opening APPENDUID/COPYUID) is V.
func statusCode(rest string) string {
	if !strings.HasPrefix(rest, "[") {
		return ""
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return rest
	}
	f := strings.Fields(rest[1:end])
	switch strings.ToUpper(f[0]) {
	case "UIDVALIDITY", "APPENDUID", "COPYUID": // a figure each server picks
		if len(f) > 1 {
			f[1] = "V"
		}
	case "PERMANENTFLAGS":
		vals, _ := parseSexps(rest[len("[PERMANENTFLAGS"):end])
		return "[PERMANENTFLAGS " + sortedList(vals) + "]"
	case "HIGHESTMODSEQ", "UNSEEN":
		return "" // CONDSTORE's, and IMAP4rev1's optional first-unseen hint
	}
	return "[" + strings.ToUpper(f[0]) + strings.TrimPrefix(strings.Join(f, " "), f[0]) + "]"
}

// fetchItems writes a FETCH's items sorted by name; flags sorted, \Recent
// dropped.
func fetchItems(items []sexp) string {
	if len(items) != 1 || !items[0].isLst {
		return fmt.Sprint(items)
	}
	l := items[0].list
	var out []string
	for i := 0; i+1 < len(l); i += 2 {
		// A section's header names are astrings: quoted or not.
		name, val := strings.ToUpper(strings.ReplaceAll(l[i].atom, `"`, "")), l[i+1]
		switch {
		case name == "FLAGS" && val.isLst:
			out = append(out, "FLAGS "+sortedList(val.list))
			continue
		case name == "INTERNALDATE" && val.str != nil:
			// date-day-fixed is " 7" or "07".
			d := strings.TrimLeft(*val.str, " 0")
			val = sexp{str: &d}
		}
		out = append(out, name+" "+val.String())
	}
	slices.Sort(out)
	return "(" + strings.Join(out, " ") + ")"
}

// astring writes a mailbox name the same whether quoted or an atom.
func astring(s sexp) string {
	if s.str != nil {
		return *s.str
	}
	return s.atom
}

func sortedList(vals []sexp) string {
	if len(vals) == 1 && vals[0].isLst {
		vals = vals[0].list
	}
	var s []string
	for _, v := range vals {
		if !strings.EqualFold(v.atom, `\Recent`) {
			s = append(s, v.String())
		}
	}
	slices.Sort(s)
	return "(" + strings.Join(s, " ") + ")"
}

// pairs writes a STATUS list's name/value pairs sorted by name.
func pairs(l []sexp) string {
	var out []string
	for i := 0; i+1 < len(l); i += 2 {
		switch strings.ToUpper(l[i].atom) {
		case "RECENT":
		case "UIDVALIDITY":
			out = append(out, "UIDVALIDITY V")
		default:
			out = append(out, strings.ToUpper(l[i].atom)+" "+l[i+1].String())
		}
	}
	slices.Sort(out)
	return "(" + strings.Join(out, " ") + ")"
}

// originalSeqs replays EXPUNGE responses (each numbered after the ones
// before it) and returns the sequence numbers they removed, as numbered
// before the first: servers may report the same removals in different
// orders.
func originalSeqs(seqs []int) []int {
	total := 0
	for _, s := range seqs {
		total += s
	}
	cur := make([]int, total)
	for i := range cur {
		cur[i] = i + 1
	}
	var out []int
	for _, s := range seqs {
		if s < 1 || s > len(cur) {
			return append(out, -s)
		}
		out = append(out, cur[s-1])
		cur = slices.Delete(cur, s-1, s)
	}
	slices.Sort(out)
	return out
}
