package mimewalk

import (
	"bytes"
	"encoding/binary"
	"testing"
	"unicode/utf16"
)

// tnefFile is one file for the test-only TNEF encoder.
type tnefFile struct {
	title   string // attAttachTitle (8.3 name)
	long    string // PR_ATTACH_LONG_FILENAME; "" leaves it out
	unicode bool   // encode long as PT_UNICODE instead of PT_STRING8
	data    []byte
}

// tnefEncode writes a winmail.dat the way Outlook lays it out: message
// attributes, then per attachment attAttachRendData, attAttachTitle,
// attAttachData and attAttachment (MAPI properties).
func tnefEncode(t testing.TB, files []tnefFile) []byte {
	t.Helper()
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint32(tnefSignature))
	binary.Write(&b, binary.LittleEndian, uint16(0x1234))
	rec := func(level byte, id uint32, data []byte) {
		b.WriteByte(level)
		binary.Write(&b, binary.LittleEndian, id)
		binary.Write(&b, binary.LittleEndian, uint32(len(data)))
		b.Write(data)
		var sum uint16
		for _, c := range data {
			sum += uint16(c)
		}
		binary.Write(&b, binary.LittleEndian, sum)
	}
	rec(tnefLevelMessage, 0x00089006, []byte{0, 0, 1, 0})                    // attTnefVersion
	rec(tnefLevelMessage, 0x00078008, []byte("IPM.Microsoft Mail.Note\x00")) // attMessageClass
	for _, f := range files {
		rec(tnefLevelAttachment, attAttachRendData, make([]byte, 14))
		rec(tnefLevelAttachment, attAttachTitle, []byte(f.title+"\x00"))
		rec(tnefLevelAttachment, attAttachData, f.data)
		rec(tnefLevelAttachment, attAttachment, mapiProps(f))
	}
	return b.Bytes()
}

func mapiProps(f tnefFile) []byte {
	var p bytes.Buffer
	le := func(v any) { binary.Write(&p, binary.LittleEndian, v) }
	n := uint32(2)
	if f.long != "" {
		n = 3
	}
	le(n)
	le(uint16(0x0003)) // PR_ATTACH_METHOD, PT_LONG
	le(uint16(0x3705))
	le(uint32(1))
	le(uint16(0x0102)) // PR_ATTACH_EXTENSION as PT_BINARY, to exercise skipping
	le(uint16(0x3703))
	le(uint32(1))
	le(uint32(5))
	p.Write([]byte(".pdf\x00\x00\x00\x00"))
	if f.long != "" {
		var val []byte
		typ := uint16(ptString8)
		if f.unicode {
			typ = ptUnicode
			for _, u := range utf16.Encode([]rune(f.long + "\x00")) {
				val = binary.LittleEndian.AppendUint16(val, u)
			}
		} else {
			val = []byte(f.long + "\x00")
		}
		le(typ)
		le(uint16(prAttachLongFilename))
		le(uint32(1))
		le(uint32(len(val)))
		p.Write(val)
		p.Write(make([]byte, pad4(len(val))-len(val)))
	}
	return p.Bytes()
}
