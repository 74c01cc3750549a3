package mimewalk

import (
	"bytes"
	"encoding/binary"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// sniffLen is how many decoded bytes of an attachment are looked at before
// its type is decided. mimetype itself looks at the first 4 KiB; the rest is
// for the deeper office checks below (zip entries and OLE directories that
// start past 4 KiB).
const sniffLen = 64 << 10

// tnefType is the media type Sniff reports for Outlook's winmail.dat.
const tnefType = "application/ms-tnef"

// Sniff returns the media type of a file from its first bytes (up to 64 KiB
// are used), without parameters. It never looks at a header or file name.
// On top of mimetype it recognises TNEF (winmail.dat), OOXML files whose
// word/, xl/ or ppt/ entries start past mimetype's 4 KiB window, and
// Word/Excel/PowerPoint compound files whose root directory does.
func Sniff(head []byte) string {
	if len(head) == 0 {
		return "application/x-empty"
	}
	if len(head) >= 4 && binary.LittleEndian.Uint32(head) == tnefSignature {
		return tnefType
	}
	typ := mimetype.Detect(head).String()
	if i := strings.IndexByte(typ, ';'); i >= 0 {
		typ = strings.TrimSpace(typ[:i])
	}
	switch typ {
	case "application/zip":
		if t := sniffOOXML(head); t != "" {
			return t
		}
	case "application/x-ole-storage":
		if t := sniffOLE(head); t != "" {
			return t
		}
	}
	return typ
}

// sniffOOXML looks at the names of the zip local file headers in head.
func sniffOOXML(head []byte) string {
	sig := []byte("PK\x03\x04")
	for off := 0; ; {
		i := bytes.Index(head[off:], sig)
		if i < 0 {
			return ""
		}
		p := off + i
		off = p + len(sig)
		if p+30 > len(head) {
			return ""
		}
		n := int(binary.LittleEndian.Uint16(head[p+26:]))
		if p+30+n > len(head) {
			return ""
		}
		name := head[p+30 : p+30+n]
		switch {
		case bytes.HasPrefix(name, []byte("word/")):
			return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
		case bytes.HasPrefix(name, []byte("xl/")):
			return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		case bytes.HasPrefix(name, []byte("ppt/")):
			return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
		}
	}
}

// Root storage CLSIDs of Word, Excel and PowerPoint compound files
// (oletools' clsid.py lists them).
var oleCLSIDs = []struct {
	prefix []byte
	typ    string
}{
	{[]byte{0x06, 0x09, 0x02, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46}, "application/msword"},
	{[]byte{0x00, 0x09, 0x02, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46}, "application/msword"},
	{[]byte{0x10, 0x08, 0x02, 0, 0, 0, 0, 0}, "application/vnd.ms-excel"},
	{[]byte{0x20, 0x08, 0x02, 0, 0, 0, 0, 0}, "application/vnd.ms-excel"},
	{[]byte{0x10, 0x8d, 0x81, 0x64, 0x9b, 0x4f, 0xcf, 0x11, 0x86, 0xea, 0x00, 0xaa, 0x00, 0xb9, 0x29, 0xe8}, "application/vnd.ms-powerpoint"},
	{[]byte{0x70, 0xae, 0x7b, 0xea, 0x3b, 0xfb, 0xcd, 0x11, 0xa9, 0x03, 0x00, 0xaa, 0x00, 0x51, 0x0e, 0xa3}, "application/vnd.ms-powerpoint"},
}

// sniffOLE reads the root directory entry's CLSID of a compound file
// ([MS-CFB] section 2.6.1) when it lies inside head.
func sniffOLE(head []byte) string {
	if len(head) < 512 {
		return ""
	}
	sector := 512
	if head[26] == 0x04 && head[27] == 0x00 {
		sector = 4096
	}
	first := int64(binary.LittleEndian.Uint32(head[48:52]))
	off := int64(sector)*(1+first) + 80
	if off < 0 || off+16 > int64(len(head)) {
		return ""
	}
	clsid := head[off : off+16]
	for _, c := range oleCLSIDs {
		if bytes.HasPrefix(clsid, c.prefix) {
			return c.typ
		}
	}
	return ""
}
