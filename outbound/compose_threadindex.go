package outbound

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"

	"github.com/partnermail/partnermail/storage"
)

// filetimeEpoch is 1601-01-01 in Unix 100-nanosecond intervals.
const filetimeEpoch = 116444736000000000

func filetime(t time.Time) uint64 {
	return uint64(t.UnixNano()/100 + filetimeEpoch)
}

// threadIndex returns the Thread-Index value by which Outlook groups a
// conversation ([MS-OXOMSG] section 2.2.1.3, PidTagConversationIndex): a
// 22-byte header, the conversation's start as FILETIME (its 6 high bytes)
// and a GUID derived from the company and thread, then one 5-byte block
// per later message, with its time since the start. Every email of the
// thread shares the header; msgs are the thread's messages up to and
// including the one emailed.
func threadIndex(companyID int64, th storage.Thread, msgs []storage.Message) string {
	start := th.CreatedAt
	if start.IsZero() && len(msgs) > 0 {
		start = msgs[0].Date
	}
	b := make([]byte, 8, 22+5*len(msgs))
	binary.BigEndian.PutUint64(b, filetime(start))
	b = b[:6]
	var ids [16]byte
	binary.BigEndian.PutUint64(ids[:8], uint64(companyID))
	binary.BigEndian.PutUint64(ids[8:], uint64(th.ID))
	sum := sha256.Sum256(append([]byte("partnermail thread-index\x00"), ids[:]...))
	guid := sum[:16]
	guid[6] = guid[6]&0x0f | 0x40 // a version 4 GUID, as generated ones are
	guid[8] = guid[8]&0x3f | 0x80
	b = append(b, guid...)
	for i := 1; i < len(msgs); i++ {
		b = append(b, childBlock(filetime(start), filetime(msgs[i].Date), byte(i), sum[16+i%16])...)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// childBlock is one response level: delta code, time delta, and a byte
// of (deterministic) randomness and sequence.
func childBlock(start, at uint64, seq, random byte) []byte {
	var diff uint64
	if at > start {
		diff = at - start
	}
	var v uint32
	if diff&0x00FE0000_00000000 == 0 {
		v = uint32(diff>>18) & 0x7fffffff
	} else {
		v = 1<<31 | uint32(diff>>23)&0x7fffffff
	}
	var blk [5]byte
	binary.BigEndian.PutUint32(blk[:4], v)
	blk[4] = random&0xf0 | seq&0x0f
	return blk[:]
}
