package authcheck

import (
	"context"
	"encoding/base64"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/partnermail/partnermail/smtpd/mimewalk"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// TestWiringWithMimewalk runs the checks the way the listener does: one
// pass over DATA through io.TeeReader, the walker storing blobs in SQLite
// while DKIM verifies the same bytes concurrently.
func TestWiringWithMimewalk(t *testing.T) {
	k := newKeys(t)
	r := newMemResolver()
	k.publish(t, r)
	r.txt["_dmarc.partner.example"] = []string{"v=DMARC1; p=reject"}
	c, err := New(Config{AuthServID: "mx.partners.acme.example", Mode: ModeEnforce, Resolver: r})
	if err != nil {
		t.Fatal(err)
	}
	w, err := mimewalk.New(mimewalk.Config{Blobs: sqlstore.OpenTest(t, sqlstore.SQLite).Blobs()})
	if err != nil {
		t.Fatal(err)
	}
	pdf := "%PDF-1.7\n" + strings.Repeat("contract terms\n", 100000)
	body := "--b\r\nContent-Type: text/plain\r\n\r\nSigned contract attached.\r\n--b\r\n" +
		"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=contract.pdf\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + wrap(base64.StdEncoding.EncodeToString([]byte(pdf))) + "--b--\r\n"
	msg := "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n" + message("partner.example", body)
	signed := sign(t, msg, "partner.example", "ed", k.ed)
	env := Envelope{partnerIPv(), "mx.partner.example", "pat@partner.example"}
	goroutines := runtime.NumGoroutine()

	chk := c.Begin(context.Background(), env)
	res, err := w.Walk(context.Background(), io.TeeReader(strings.NewReader(signed), chk))
	if err != nil {
		chk.Abort()
		t.Fatalf("Walk = %v", err)
	}
	v := chk.Finish(context.Background(), res.Header)
	if v.Reject || v.DMARC.Result != "pass" || len(v.DKIM) != 1 || v.DKIM[0].Result != "pass" {
		t.Errorf("verdict = %+v", v)
	}
	if len(res.Attachments) != 1 || res.Attachments[0].Size != int64(len(pdf)) {
		t.Errorf("Attachments = %+v", res.Attachments)
	}

	// A policy failure: the walk drains DATA, the check is aborted.
	bad := strings.Replace(signed, "%PDF-1.7", "MZ\x90\x00", 1)
	bad = strings.Replace(bad, wrap(base64.StdEncoding.EncodeToString([]byte(pdf))), wrap(base64.StdEncoding.EncodeToString([]byte("MZ\x90\x00"+pdf[9:]))), 1)
	chk = c.Begin(context.Background(), Envelope{partnerIPv(), "mx.partner.example", "pat@partner.example"})
	_, err = w.Walk(context.Background(), io.TeeReader(strings.NewReader(bad), chk))
	if !mimewalk.IsPolicy(err) {
		t.Errorf("Walk(exe) = %v, want a policy error", err)
	}
	chk.Abort()

	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines left running after Finish/Abort (started with %d)", n, goroutines)
	}
}

func wrap(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return b.String() + s + "\r\n"
}
