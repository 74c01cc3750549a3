// Package tlsconf holds the gateway's TLS certificate: loaded from a
// certificate and key file, served to every listener through one
// *tls.Config, and replaced on Reload (SIGHUP) without touching the
// connections already established.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Cert is a reloadable certificate. Handshakes read the current pair
// through an atomic pointer, so Reload never blocks or drops a connection:
// sessions already up keep the keys they negotiated, new handshakes get
// the new certificate.
type Cert struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// Load reads the PEM certificate chain and private key. It fails when
// either file is unreadable or they do not match.
func Load(certFile, keyFile string) (*Cert, error) {
	c := &Cert{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again and, only when they hold a valid pair,
// makes it the certificate of new handshakes. On error the previous
// certificate stays in use.
func (c *Cert) Reload() error {
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate %s: %w", c.certFile, err)
	}
	if len(pair.Certificate) == 0 {
		return fmt.Errorf("load TLS certificate %s: %w", c.certFile, errors.New("no certificate"))
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return fmt.Errorf("parse TLS certificate %s: %w", c.certFile, err)
	}
	pair.Leaf = leaf
	c.cur.Store(&pair)
	return nil
}

// Leaf returns the parsed certificate currently served.
func (c *Cert) Leaf() *x509.Certificate { return c.cur.Load().Leaf }

// NotAfter returns the expiry of the certificate currently served.
func (c *Cert) NotAfter() time.Time { return c.Leaf().NotAfter }

// GetCertificate is the tls.Config hook: it returns the current pair.
func (c *Cert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// Config returns a server configuration serving the current certificate
// (TLS 1.2 at least). Each call returns a new *tls.Config that listeners
// may adjust; all of them follow Reload.
func (c *Cert) Config() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: c.GetCertificate,
	}
}
