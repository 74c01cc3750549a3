package main

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/partnermail/partnermail/internal/config"
)

type checkCmd struct{}

// Run validates the configuration, reaches the database and prints, per
// company domain, the DNS records to publish and what looks wrong.
func (c *checkCmd) Run(a *app) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	s, err := a.open()
	if err != nil {
		return err
	}
	if _, err := cfg.Secrets(); err != nil {
		return err
	}
	cs, err := s.Companies(a.ctx)
	if err != nil {
		return err
	}
	dkim := map[string]string{}
	for _, k := range cfg.Outbound.DKIM {
		rec, err := dkimRecord(k.KeyFile)
		if err != nil {
			return fmt.Errorf("outbound.dkim %s: %w", k.Domain, err)
		}
		dkim[strings.ToLower(k.Domain)] = k.Selector + "._domainkey." + k.Domain + ". TXT \"" + rec + "\""
	}
	w := a.stdout
	fmt.Fprintln(w, "configuration: ok")
	for _, warn := range append(warnings(cfg), tlsWarnings(cfg, time.Now())...) {
		fmt.Fprintln(w, "warning:", warn)
	}
	mx := cfg.SMTP.Hostname
	spf := "v=spf1 mx -all"
	if cfg.Outbound.Mode == "relay" {
		spf = "v=spf1 mx a:" + cfg.Outbound.Relay.Host + " -all"
	}
	for _, co := range cs {
		fmt.Fprintf(w, "\ncompany %s:\n", co.Slug)
		for _, d := range co.Domains {
			fmt.Fprintf(w, "  %s. MX 10 %s.\n", d, mx)
			fmt.Fprintf(w, "  %s. TXT \"%s\"\n", d, spf)
			fmt.Fprintf(w, "  _dmarc.%s. TXT \"v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:postmaster@%s\"\n", d, d)
			if r, ok := dkim[d]; ok {
				fmt.Fprintf(w, "  %s\n", r)
			} else {
				fmt.Fprintf(w, "  (no DKIM key configured for %s: add [[outbound.dkim]])\n", d)
			}
		}
		if !strings.Contains(co.FromAddr, "@") {
			fmt.Fprintf(w, "  warning: from address %q is not an address\n", co.FromAddr)
		}
	}
	return nil
}

// warnings lists settings that work but are probably not what production wants.
func warnings(cfg config.Config) []string {
	var out []string
	if cfg.Dev {
		out = append(out, "no --config: dev mode (loopback, captured outbound mail, plain AUTH)")
	}
	if len(cfg.Tokens.Keys) == 0 {
		out = append(out, "tokens.keys empty: the token secret lives in "+cfg.Storage.DataDir+"; several processes need one shared key")
	}
	public := func(addr string) bool {
		h, _, err := net.SplitHostPort(addr)
		ip := net.ParseIP(h)
		return err == nil && addr != "" && (ip == nil || !ip.IsLoopback())
	}
	if cfg.TLS.CertFile == "" && (public(cfg.SMTP.Listen) || public(cfg.IMAP.Listen) || public(cfg.Submission.Listen)) {
		out = append(out, "listeners on non-loopback addresses without tls.cert_file: no STARTTLS, staff cannot log in")
	}
	if cfg.Outbound.Mode == "capture" && !cfg.Dev {
		out = append(out, "outbound.mode = capture: partners receive nothing")
	}
	if cfg.Storage.Driver == "sqlite" && !cfg.Dev {
		out = append(out, "sqlite backend: run one process only (use postgres to scale out)")
	}
	return out
}

// dkimRecord returns the DKIM TXT value publishing the key in a PEM file.
func dkimRecord(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return "", fmt.Errorf("%s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		if rk, err2 := x509.ParsePKCS1PrivateKey(blk.Bytes); err2 == nil {
			k = rk
		} else {
			return "", fmt.Errorf("%s: %w", path, err)
		}
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return "", fmt.Errorf("%s: not a signing key", path)
	}
	switch pub := signer.Public().(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", err
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub), nil
	}
	return "", fmt.Errorf("%s: unsupported key type", path)
}
