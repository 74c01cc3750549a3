// Package authcheck computes the SPF, DKIM and DMARC verdicts of one
// inbound message and the Authentication-Results header that records them
// (RFC 8601), and removes forged Authentication-Results fields that claim
// our own authserv-id (RFC 8601 section 5).
//
// A Check follows one SMTP transaction: Begin starts SPF as soon as the
// envelope is known; the message bytes are written to the Check as they
// arrive (DKIM is verified while the message streams, through an io.Pipe
// into dkim.VerifyWithOptions running concurrently, so nothing is buffered
// and the stored blob is not read twice); Finish adds DMARC (RFC 7489) and
// returns the Verdict.
//
// All DNS goes through the Resolver in Config; *net.Resolver fits it.
//
// The raw message is stored byte-exact, so forged fields are not removed
// from it: the IMAP view applies Rewrite (or StripForged and FormatField)
// to the stored header block with the stored Verdict.Value when it shows a
// message. See package smtpd/mimewalk for how the listener feeds a Check
// and the walker from one io.TeeReader.
package authcheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
)

// Mode is the auth_checks setting.
type Mode string

// Modes of auth_checks.
const (
	ModeOff     Mode = "off"     // no checks, no header
	ModeRecord  Mode = "record"  // check and record; never reject
	ModeEnforce Mode = "enforce" // like record, and a DMARC fail under p=reject or p=quarantine rejects (550 5.7.1)
)

// ParseMode parses an auth_checks value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case ModeOff, ModeRecord, ModeEnforce:
		return m, nil
	}
	return "", fmt.Errorf("auth_checks %q: want off, record or enforce", s)
}

// Resolver is the DNS the checks use. *net.Resolver implements it; tests
// use an in-memory one. A name that does not exist must be reported as a
// *net.DNSError with IsNotFound set, a temporary failure as one with
// IsTemporary (or IsTimeout) set.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

var _ Resolver = (*net.Resolver)(nil)

// Config configures a Checker. Zero values mean the defaults.
type Config struct {
	// AuthServID names this gateway in Authentication-Results (RFC 8601
	// section 2.5), usually its host name. Required unless Mode is off.
	AuthServID string
	Mode       Mode          // default ModeRecord
	Resolver   Resolver      // default net.DefaultResolver
	Timeout    time.Duration // for all DNS of one message; default 15s
	// MaxDKIMSignatures bounds the signatures verified per message; default 5.
	MaxDKIMSignatures int
	Logger            *slog.Logger
	// Sample decides pct= sampling of DMARC policies (RFC 7489 section
	// 6.6.4): it returns a number in [0, 100). Default: math/rand/v2.
	Sample func() int
}

// Checker runs checks; it is safe for concurrent use.
type Checker struct {
	cfg Config
}

// New returns a Checker for cfg.
func New(cfg Config) (*Checker, error) {
	if cfg.Mode == "" {
		cfg.Mode = ModeRecord
	}
	if _, err := ParseMode(string(cfg.Mode)); err != nil {
		return nil, err
	}
	if cfg.Mode != ModeOff && cfg.AuthServID == "" {
		return nil, errors.New("authcheck: Config.AuthServID is required")
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.MaxDKIMSignatures <= 0 {
		cfg.MaxDKIMSignatures = 5
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Sample == nil {
		cfg.Sample = randomPercent
	}
	return &Checker{cfg: cfg}, nil
}

// Mode reports the configured mode.
func (c *Checker) Mode() Mode { return c.cfg.Mode }

// AuthServID reports the configured authserv-id.
func (c *Checker) AuthServID() string { return c.cfg.AuthServID }

// Envelope is what SPF needs from the SMTP dialogue.
type Envelope struct {
	RemoteIP net.IP
	Helo     string // EHLO/HELO argument
	MailFrom string // reverse path; "" for the null sender
}

// dnsError classifies a DNS error: notFound for NXDOMAIN/NODATA, temp for
// everything that may succeed later.
func dnsError(err error) (notFound, temp bool) {
	var de *net.DNSError
	if errors.As(err, &de) {
		if de.IsNotFound {
			return true, false
		}
		return false, true
	}
	return false, err != nil
}

func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return normDomain(addr[i+1:])
}

func normDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}
