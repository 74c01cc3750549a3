package authcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
)

// Check is the authentication of one message in progress. Write the
// message's bytes to it as they arrive, then call Finish, or Abort if the
// transaction is dropped; one of them must be called, or the check's two
// goroutines wait forever. Write never fails and never blocks for longer
// than a DKIM key lookup.
type Check struct {
	c      *Checker
	env    Envelope
	ctx    context.Context
	cancel context.CancelFunc
	off    bool

	spfDone chan struct{}
	spf     SPFResult

	pw       *io.PipeWriter
	dkimDone chan struct{}
	dkim     []DKIMResult
	once     sync.Once
}

// Begin starts the checks of one transaction: SPF runs at once in the
// background. ctx bounds all DNS of this message (with Config.Timeout).
func (c *Checker) Begin(ctx context.Context, env Envelope) *Check {
	k := &Check{c: c, env: env, off: c.cfg.Mode == ModeOff}
	if k.off {
		return k
	}
	k.ctx, k.cancel = context.WithTimeout(ctx, c.cfg.Timeout)
	k.spfDone = make(chan struct{})
	go func() {
		defer close(k.spfDone)
		k.spf = k.runSPF()
	}()
	pr, pw := io.Pipe()
	k.pw = pw
	k.dkimDone = make(chan struct{})
	go func() {
		defer close(k.dkimDone)
		k.dkim = k.runDKIM(pr)
		// Verify need not read everything; keep draining so Write never
		// blocks on a verifier that is done.
		io.Copy(io.Discard, pr)
	}()
	return k
}

// Write feeds message bytes to the DKIM verifier. It always reports
// len(p), nil.
func (k *Check) Write(p []byte) (int, error) {
	if !k.off {
		k.pw.Write(p) // an error only means the verifier gave up
	}
	return len(p), nil
}

// Abort stops the checks; it is safe to call after Finish.
func (k *Check) Abort() {
	if k.off {
		return
	}
	k.once.Do(func() { k.pw.CloseWithError(errors.New("transaction aborted")) })
	<-k.dkimDone
	<-k.spfDone
	k.cancel()
}

// Finish ends the message and evaluates DMARC against the From header. In
// ModeOff it returns an empty Verdict (no header to add).
func (k *Check) Finish(ctx context.Context, h mail.Header) *Verdict {
	v := &Verdict{authservID: k.c.cfg.AuthServID, mode: k.c.cfg.Mode}
	if k.off {
		return v
	}
	k.once.Do(func() { k.pw.Close() })
	<-k.dkimDone
	<-k.spfDone
	defer k.cancel()
	v.SPF, v.DKIM = k.spf, k.dkim
	dctx, cancel := context.WithTimeout(ctx, k.c.cfg.Timeout)
	defer cancel()
	v.DMARC = k.c.evalDMARC(dctx, h, v.SPF, v.DKIM)
	if k.c.cfg.Mode == ModeEnforce && v.DMARC.Result == authres.ResultFail &&
		(v.DMARC.Policy == "reject" || v.DMARC.Policy == "quarantine") &&
		(v.DMARC.Percent >= 100 || k.c.cfg.Sample() < v.DMARC.Percent) {
		v.Reject = true
	}
	return v
}

// CheckMessage runs a whole check over a message read from r (a stored
// blob, a test message). It reads r to its end.
func (c *Checker) CheckMessage(ctx context.Context, env Envelope, r io.Reader, h mail.Header) (*Verdict, error) {
	k := c.Begin(ctx, env)
	if _, err := io.Copy(k, r); err != nil {
		k.Abort()
		return nil, fmt.Errorf("read message: %w", err)
	}
	return k.Finish(ctx, h), nil
}

// SPFResult is the SPF verdict (RFC 7208) for the MAIL FROM identity, or
// the HELO identity for the null sender.
type SPFResult struct {
	Result authres.ResultValue
	Domain string // the checked domain
	Helo   bool   // the HELO identity was checked (null sender)
	Reason string
}

func (k *Check) runSPF() SPFResult {
	r := SPFResult{Domain: domainOf(k.env.MailFrom)}
	sender := k.env.MailFrom
	if r.Domain == "" { // RFC 7208 section 2.4: check postmaster@HELO
		r.Helo = true
		r.Domain = normDomain(k.env.Helo)
		sender = "postmaster@" + r.Domain
	}
	res, err := spf.CheckHostWithSender(k.env.RemoteIP, k.env.Helo, sender,
		spf.WithResolver(k.c.cfg.Resolver), spf.WithContext(k.ctx))
	r.Result = authres.ResultValue(res)
	if err != nil && res != spf.Pass {
		r.Reason = err.Error()
	}
	return r
}

// DKIMResult is the verdict of one DKIM-Signature (RFC 6376).
type DKIMResult struct {
	Result     authres.ResultValue
	Domain     string // d=
	Identifier string // i=
	Reason     string
}

func (k *Check) runDKIM(r io.Reader) []DKIMResult {
	opts := &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			return k.c.cfg.Resolver.LookupTXT(k.ctx, name)
		},
		MaxVerifications: k.c.cfg.MaxDKIMSignatures,
	}
	verifs, err := dkim.VerifyWithOptions(r, opts)
	if err != nil && len(verifs) == 0 {
		return []DKIMResult{{Result: authres.ResultPermError, Reason: "message unreadable: " + err.Error()}}
	}
	var out []DKIMResult
	for _, v := range verifs {
		d := DKIMResult{Result: authres.ResultPass, Domain: normDomain(v.Domain), Identifier: v.Identifier}
		switch {
		case v.Err == nil:
		case dkim.IsTempFail(v.Err):
			d.Result, d.Reason = authres.ResultTempError, v.Err.Error()
		case dkim.IsPermFail(v.Err):
			d.Result, d.Reason = authres.ResultPermError, v.Err.Error()
		default:
			d.Result, d.Reason = authres.ResultFail, v.Err.Error()
		}
		out = append(out, d)
	}
	return out
}

func randomPercent() int { return rand.IntN(100) }
