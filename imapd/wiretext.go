package imapd

import (
	"mime"
	"time"
)

// Byte classes of the strings fetchWire writes, ORed over a string in
// one pass (class): nearly every string has none, and then needs neither
// MIME encoding nor escapes nor a literal.
const (
	classEscape  = 1 << iota // '"' or '\': escaped in a quoted string
	classLiteral             // NUL, CR or LF: only a literal holds them
	class8bit                // above 0x7f: quoted only with UTF-8 on
	classMIME                // not printable ASCII: a header text MIME-encodes it
)

var byteClass = func() (t [256]uint8) {
	for c := range 256 {
		if (c < ' ' && c != '\t') || c > '~' {
			t[c] |= classMIME
		}
		switch {
		case c == '"' || c == '\\':
			t[c] |= classEscape
		case c == 0 || c == '\r' || c == '\n':
			t[c] |= classLiteral
		case c > 0x7f:
			t[c] |= class8bit
		}
	}
	return t
}()

// class ORs the classes of the bytes of s.
func class(s string) uint8 {
	var c uint8
	for i := 0; i < len(s); i++ {
		c |= byteClass[s[i]]
	}
	return c
}

// encodeText is mime.QEncoding.Encode("utf-8", s), without its
// rune-by-rune look at the nearly always plain ASCII s.
func encodeText(s string) string {
	if class(s)&classMIME == 0 {
		return s
	}
	return mime.QEncoding.Encode("utf-8", s)
}

// appendEnvelopeDate appends t as envelopeDateLayout does, without
// time.Time.AppendFormat's walk through the layout.
func appendEnvelopeDate(b []byte, t time.Time) []byte {
	_, offset := t.Zone()
	if year := t.Year(); year < 0 || year > 9999 {
		return t.AppendFormat(b, envelopeDateLayout)
	}
	return appendZonedDate(b, t, offset)
}

// appendUnixDate is appendEnvelopeDate of the time unix seconds in the
// zone offset seconds east of UTC, without a time.Location.
func appendUnixDate(b []byte, unix int64, offset int) []byte {
	const bound = 1 << 40 // keeps unix+offset from overflowing
	if unix > -bound && unix < bound && offset > -bound && offset < bound {
		if wall := time.Unix(unix+int64(offset), 0).UTC(); wall.Year() >= 0 && wall.Year() <= 9999 {
			return appendZonedDate(b, wall, offset)
		}
	}
	return appendEnvelopeDate(b, time.Unix(unix, 0).In(zone(offset)))
}

// appendZonedDate appends the date and time t shows in its location,
// a year of four digits, with offset as the zone.
func appendZonedDate(b []byte, t time.Time, offset int) []byte {
	const days, months = "SunMonTueWedThuFriSat", "JanFebMarAprMayJunJulAugSepOctNovDec"
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	wd := int(t.Weekday())
	b = append(b, days[3*wd:3*wd+3]...)
	b = append(b, ", "...)
	b = append2(b, day)
	b = append(b, ' ')
	b = append(b, months[3*(month-1):3*month]...)
	b = append(b, ' ')
	b = append2(append2(b, year/100), year%100)
	b = append(b, ' ')
	b = append2(append(append2(append(append2(b, hour), ':'), min), ':'), sec)
	sign := byte('+')
	if offset < 0 {
		sign, offset = '-', -offset
	}
	offset /= 60
	return append2(append2(append(b, ' ', sign), offset/60), offset%60)
}

// append2 appends 0 <= n < 100 as two digits.
func append2(b []byte, n int) []byte {
	return append(b, byte('0'+n/10), byte('0'+n%10))
}
