package authcheck

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
)

const partnerIP = "192.0.2.10"

type keys struct {
	ed  ed25519.PrivateKey
	rsa *rsa.PrivateKey
}

func newKeys(t *testing.T) keys {
	t.Helper()
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return keys{ed: ed, rsa: rk}
}

// publish puts the DNS of a small world: partner.example sends from
// 192.0.2.10 and signs as ed._domainkey and rsa._domainkey; esp.example is
// an email service provider with its own SPF and key.
func (k keys) publish(t *testing.T, r *memResolver) {
	t.Helper()
	edTXT := "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(k.ed.Public().(ed25519.PublicKey))
	der, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaTXT := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	for _, d := range []string{"partner.example", "mail.partner.example", "esp.example"} {
		r.txt["ed._domainkey."+d] = []string{edTXT}
		r.txt["rsa._domainkey."+d] = []string{rsaTXT}
	}
	r.txt["partner.example"] = []string{"v=spf1 ip4:192.0.2.0/24 -all"}
	r.txt["esp.example"] = []string{"v=spf1 ip4:198.51.100.0/24 -all"}
	r.txt["mx.partner.example"] = []string{"v=spf1 a -all"}
	r.ip["mx.partner.example"] = []net.IPAddr{{IP: net.ParseIP(partnerIP)}}
}

func message(from, body string) string {
	return "From: Pat <pat@" + from + ">\r\nTo: reply+abc@partners.acme.example\r\nSubject: offer\r\n" +
		"Message-ID: <x1@" + from + ">\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\n" + body
}

func sign(t *testing.T, msg, domain, selector string, signer crypto.Signer) string {
	t.Helper()
	var buf bytes.Buffer
	err := dkim.Sign(&buf, strings.NewReader(msg), &dkim.SignOptions{Domain: domain, Selector: selector, Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func header(t *testing.T, msg string) mail.Header {
	t.Helper()
	h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(msg)))
	if err != nil {
		t.Fatal(err)
	}
	return mail.Header{Header: messageHeader(h)}
}

func TestCheck(t *testing.T) {
	k := newKeys(t)
	body := "Hello, attached is our offer.\r\n"
	plain := message("partner.example", body)
	tests := []struct {
		name     string
		mode     Mode
		dmarcTXT map[string]string // _dmarc.<key> → record
		env      Envelope
		msg      string
		tempDNS  []string
		spf      authres.ResultValue
		dkim     []authres.ResultValue
		dmarc    authres.ResultValue
		policy   string
		reject   bool
	}{
		{name: "all pass ed25519", mode: ModeEnforce, dmarcTXT: map[string]string{"partner.example": "v=DMARC1; p=reject"},
			env: Envelope{partnerIPv(), "mx.partner.example", "pat@partner.example"},
			msg: sign(t, plain, "partner.example", "ed", k.ed), spf: "pass", dkim: []authres.ResultValue{"pass"}, dmarc: "pass", policy: "reject"},
		{name: "rsa signature via esp, spf not aligned", mode: ModeEnforce, dmarcTXT: map[string]string{"partner.example": "v=DMARC1; p=reject"},
			env: Envelope{net.ParseIP("198.51.100.7"), "out.esp.example", "bounces@esp.example"},
			msg: sign(t, plain, "partner.example", "rsa", k.rsa), spf: "pass", dkim: []authres.ResultValue{"pass"}, dmarc: "pass", policy: "reject"},
		{name: "spoofed, enforce rejects", mode: ModeEnforce, dmarcTXT: map[string]string{"partner.example": "v=DMARC1; p=reject"},
			env: Envelope{net.ParseIP("203.0.113.66"), "evil.example", "pat@partner.example"},
			msg: plain, spf: "fail", dmarc: "fail", policy: "reject", reject: true},
		{name: "spoofed, quarantine rejects too", mode: ModeEnforce, dmarcTXT: map[string]string{"partner.example": "v=DMARC1; p=quarantine"},
			env: Envelope{net.ParseIP("203.0.113.66"), "evil.example", "pat@partner.example"},
			msg: plain, spf: "fail", dmarc: "fail", policy: "quarantine", reject: true},
		{name: "spoofed, record mode only records", mode: ModeRecord, dmarcTXT: map[string]string{"partner.example": "v=DMARC1; p=reject"},
			env: Envelope{net.ParseIP("203.0.113.66"), "evil.example", "pat@partner.example"},
			msg: plain, spf: "fail", dmarc: "fail", policy: "reject"},
		{name: "spoofed, p=none", mode: ModeEnforce, dmarcTXT: map[string]string{"partner.example": "v=DMARC1; p=none"},
			env: Envelope{net.ParseIP("203.0.113.66"), "evil.example", "pat@partner.example"},
			msg: plain, spf: "fail", dmarc: "fail", policy: "none"},
		{name: "pct=0 samples out", mode: ModeEnforce, dmarcTXT: map[string]string{"partner.example": "v=DMARC1; p=reject; pct=0"},
			env: Envelope{net.ParseIP("203.0.113.66"), "evil.example", "pat@partner.example"},
			msg: plain, spf: "fail", dmarc: "fail", policy: "reject"},
		{name: "esp signature not aligned", mode: ModeEnforce, dmarcTXT: map[string]string{"partner.example": "v=DMARC1; p=reject"},
			env: Envelope{net.ParseIP("198.51.100.7"), "out.esp.example", "bounces@esp.example"},
			msg: sign(t, plain, "esp.example", "ed", k.ed), spf: "pass", dkim: []authres.ResultValue{"pass"}, dmarc: "fail", policy: "reject", reject: true},
		{name: "relaxed dkim alignment", mode: ModeEnforce, dmarcTXT: map[string]string{"partner.example": "v=DMARC1; p=reject"},
			env: Envelope{net.ParseIP("198.51.100.7"), "out.esp.example", "bounces@esp.example"},
			msg: sign(t, plain, "mail.partner.example", "ed", k.ed), spf: "pass", dkim: []authres.ResultValue{"pass"}, dmarc: "pass", policy: "reject"},
		{name: "strict dkim alignment", mode: ModeEnforce, dmarcTXT: map[string]string{"partner.example": "v=DMARC1; p=reject; adkim=s"},
			env: Envelope{net.ParseIP("198.51.100.7"), "out.esp.example", "bounces@esp.example"},
			msg: sign(t, plain, "mail.partner.example", "ed", k.ed), spf: "pass", dkim: []authres.ResultValue{"pass"}, dmarc: "fail", policy: "reject", reject: true},
		{name: "tampered body", mode: ModeEnforce, dmarcTXT: map[string]string{"partner.example": "v=DMARC1; p=reject"},
			env: Envelope{net.ParseIP("198.51.100.7"), "out.esp.example", "bounces@esp.example"},
			msg: strings.Replace(sign(t, plain, "partner.example", "ed", k.ed), "offer.", "invoice.", 1),
			spf: "pass", dkim: []authres.ResultValue{"fail"}, dmarc: "fail", policy: "reject", reject: true},
		{name: "subdomain policy", mode: ModeEnforce, dmarcTXT: map[string]string{"partner.example": "v=DMARC1; p=reject; sp=none"},
			env: Envelope{net.ParseIP("203.0.113.66"), "evil.example", "x@news.partner.example"},
			msg: message("news.partner.example", body), spf: "none", dmarc: "fail", policy: "none"},
		{name: "no dmarc record", mode: ModeEnforce,
			env: Envelope{net.ParseIP("203.0.113.66"), "evil.example", "pat@partner.example"},
			msg: plain, spf: "fail", dmarc: "none"},
		{name: "dmarc dns temporary failure", mode: ModeEnforce, dmarcTXT: map[string]string{"partner.example": "v=DMARC1; p=reject"},
			tempDNS: []string{"_dmarc.partner.example"},
			env:     Envelope{net.ParseIP("203.0.113.66"), "evil.example", "pat@partner.example"},
			msg:     plain, spf: "fail", dmarc: "temperror"},
		{name: "null sender uses helo", mode: ModeEnforce, dmarcTXT: map[string]string{"partner.example": "v=DMARC1; p=reject"},
			env: Envelope{partnerIPv(), "mx.partner.example", ""},
			msg: plain, spf: "pass", dmarc: "pass", policy: "reject"},
		{name: "two signatures, one broken", mode: ModeEnforce, dmarcTXT: map[string]string{"partner.example": "v=DMARC1; p=reject"},
			env: Envelope{net.ParseIP("198.51.100.7"), "out.esp.example", "bounces@esp.example"},
			msg: "DKIM-Signature: v=1; a=rsa-sha256; d=esp.example; s=nokey; h=from; bh=AAAA; b=AAAA\r\n" +
				sign(t, plain, "partner.example", "ed", k.ed),
			spf: "pass", dkim: []authres.ResultValue{"permerror", "pass"}, dmarc: "pass", policy: "reject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newMemResolver()
			k.publish(t, r)
			for d, rec := range tt.dmarcTXT {
				r.txt["_dmarc."+d] = []string{rec}
			}
			for _, n := range tt.tempDNS {
				r.temp[n] = true
			}
			c, err := New(Config{AuthServID: "mx.partners.acme.example", Mode: tt.mode, Resolver: r, Sample: func() int { return 50 }})
			if err != nil {
				t.Fatal(err)
			}
			v, err := c.CheckMessage(context.Background(), tt.env, strings.NewReader(tt.msg), header(t, tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			if v.SPF.Result != tt.spf {
				t.Errorf("SPF = %q (%s), want %q", v.SPF.Result, v.SPF.Reason, tt.spf)
			}
			var dk []authres.ResultValue
			for _, d := range v.DKIM {
				dk = append(dk, d.Result)
			}
			if strings.Join(toStrings(dk), ",") != strings.Join(toStrings(tt.dkim), ",") {
				t.Errorf("DKIM = %v (%+v), want %v", dk, v.DKIM, tt.dkim)
			}
			if v.DMARC.Result != tt.dmarc || v.DMARC.Policy != tt.policy {
				t.Errorf("DMARC = %q policy %q (%+v), want %q %q", v.DMARC.Result, v.DMARC.Policy, v.DMARC, tt.dmarc, tt.policy)
			}
			if v.Reject != tt.reject {
				t.Errorf("Reject = %v, want %v", v.Reject, tt.reject)
			}
			if v.Reject {
				code, enh, text := v.RejectReply()
				if code != 550 || enh != [3]int{5, 7, 1} || !strings.Contains(text, "partner.example") {
					t.Errorf("RejectReply = %d %v %q", code, enh, text)
				}
			}
			// The header must parse back to the same verdicts.
			id, results, err := authres.Parse(v.Value())
			if err != nil || id != "mx.partners.acme.example" || len(results) < 3 {
				t.Errorf("authres.Parse(%q) = %q %d results %v", v.Value(), id, len(results), err)
			}
			f := v.HeaderField()
			if !strings.HasPrefix(f, "Authentication-Results: mx.partners.acme.example;") || !strings.HasSuffix(f, "\r\n") {
				t.Errorf("HeaderField = %q", f)
			}
			for _, line := range strings.Split(strings.TrimSuffix(f, "\r\n"), "\r\n") {
				if len(line) > 998 {
					t.Errorf("HeaderField line of %d octets", len(line))
				}
			}
		})
	}
}

func partnerIPv() net.IP { return net.ParseIP(partnerIP) }

func toStrings(v []authres.ResultValue) []string {
	s := make([]string, len(v))
	for i := range v {
		s[i] = string(v[i])
	}
	return s
}

// TestCheckStreaming writes a large signed message in small pieces, as the
// SMTP DATA reader delivers it, while DKIM verifies concurrently.
func TestCheckStreaming(t *testing.T) {
	k := newKeys(t)
	r := newMemResolver()
	k.publish(t, r)
	r.txt["_dmarc.partner.example"] = []string{"v=DMARC1; p=reject"}
	body := strings.Repeat("Line of a long partner message, quite ordinary.\r\n", 200000) // ~10 MB
	msg := sign(t, message("partner.example", body), "partner.example", "ed", k.ed)
	c, _ := New(Config{AuthServID: "mx.test", Mode: ModeEnforce, Resolver: r})
	chk := c.Begin(context.Background(), Envelope{partnerIPv(), "mx.partner.example", "pat@partner.example"})
	for rest := msg; len(rest) > 0; {
		n := min(len(rest), 1000+len(rest)%3000)
		chk.Write([]byte(rest[:n]))
		rest = rest[n:]
	}
	v := chk.Finish(context.Background(), header(t, msg))
	chk.Abort() // safe after Finish
	if v.DMARC.Result != "pass" || len(v.DKIM) != 1 || v.DKIM[0].Result != "pass" {
		t.Errorf("streamed verdict = %+v", v)
	}
}

func TestCheckAbortAndOff(t *testing.T) {
	r := newMemResolver()
	c, _ := New(Config{AuthServID: "mx.test", Resolver: r})
	chk := c.Begin(context.Background(), Envelope{partnerIPv(), "mx.partner.example", "pat@partner.example"})
	chk.Write([]byte("From: a@b.example\r\n"))
	chk.Abort()
	chk.Abort()

	off, err := New(Config{Mode: ModeOff})
	if err != nil {
		t.Fatal(err)
	}
	v, err := off.CheckMessage(context.Background(), Envelope{}, strings.NewReader("From: a@b\r\n\r\nx"), mail.Header{})
	if err != nil || v.Value() != "" || v.HeaderField() != "" || v.Reject {
		t.Errorf("ModeOff verdict = %+v, %v; want empty", v, err)
	}
	if _, err := New(Config{Mode: "strict"}); err == nil {
		t.Errorf("New(Mode strict) succeeded")
	}
	if _, err := New(Config{Mode: ModeRecord}); err == nil {
		t.Errorf("New without AuthServID succeeded")
	}
}

func TestOrgDomain(t *testing.T) {
	rec := func(d, psd string) dmarcRecord { return dmarcRecord{domain: d, psd: psd} }
	tests := []struct {
		from string
		recs []dmarcRecord
		want string
	}{
		{"a.b.partner.example", []dmarcRecord{rec("partner.example", "")}, "partner.example"},
		{"a.b.partner.example", []dmarcRecord{rec("b.partner.example", ""), rec("partner.example", "")}, "partner.example"},
		{"a.b.partner.example", []dmarcRecord{rec("b.partner.example", "n"), rec("partner.example", "")}, "b.partner.example"},
		{"shop.city.gov.example", []dmarcRecord{rec("gov.example", "y")}, "city.gov.example"},
		{"gov.example", []dmarcRecord{rec("gov.example", "y")}, "gov.example"},
	}
	for _, tt := range tests {
		if got := orgDomain(tt.from, tt.recs); got != tt.want {
			t.Errorf("orgDomain(%q) = %q, want %q", tt.from, got, tt.want)
		}
	}
}

func TestFromDomain(t *testing.T) {
	tests := []struct{ header, want string }{
		{"From: Pat <Pat@Partner.Example>\r\n\r\n", "partner.example"},
		{"From: a@x.example, b@x.example\r\n\r\n", "x.example"},
		{"From: a@x.example, b@y.example\r\n\r\n", ""},
		{"From: a@x.example\r\nFrom: b@x.example\r\n\r\n", ""},
		{"Subject: none\r\n\r\n", ""},
		{"From: broken <<a@x.example>\r\n\r\n", "x.example"},
	}
	for _, tt := range tests {
		if got, _ := fromDomain(header(t, tt.header)); got != tt.want {
			t.Errorf("fromDomain(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}
