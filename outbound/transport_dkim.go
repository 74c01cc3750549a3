package outbound

import (
	"fmt"
	"os"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/wneessen/go-mail"
)

// DKIMKey names the key that signs one domain's emails.
type DKIMKey struct {
	Domain   string
	Selector string
	KeyFile  string // PEM: PKCS#1 or PKCS#8, RSA or Ed25519
}

// DKIM holds the signing options of each domain. Emails are signed while
// they are written (Email.WriteSignedTo), never buffered whole.
type DKIM struct {
	signers map[string]*dkim.SignOptions
}

// LoadDKIM reads the key files of keys.
func LoadDKIM(keys []DKIMKey) (*DKIM, error) {
	d := &DKIM{signers: make(map[string]*dkim.SignOptions, len(keys))}
	for _, k := range keys {
		pem, err := os.ReadFile(k.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("dkim key of %s: %w", k.Domain, err)
		}
		key, err := mail.PrivKeyFromPEM(pem)
		if err != nil {
			return nil, fmt.Errorf("dkim key of %s (%s): %w", k.Domain, k.KeyFile, err)
		}
		if k.Selector == "" {
			return nil, fmt.Errorf("dkim key of %s: no selector", k.Domain)
		}
		domain := strings.ToLower(strings.TrimSuffix(k.Domain, "."))
		d.signers[domain] = &dkim.SignOptions{Domain: domain, Selector: k.Selector, Signer: key,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed}
	}
	return d, nil
}

// Signer returns the signing options for the domain of a From address, or
// of its closest parent domain (a relaxed-aligned d=); nil when none.
func (d *DKIM) Signer(from string) *dkim.SignOptions {
	if d == nil {
		return nil
	}
	at := strings.LastIndexByte(from, '@')
	domain := strings.ToLower(from[at+1:])
	for domain != "" {
		if s, ok := d.signers[domain]; ok {
			return s
		}
		dot := strings.IndexByte(domain, '.')
		if dot < 0 {
			break
		}
		domain = domain[dot+1:]
	}
	return nil
}
