// Package config reads partnermail's one configuration file (TOML) and
// supplies the defaults that make a missing file mean "dev mode": every
// listener on loopback, SQLite under ./partnermail-data, outbound mail
// captured to files.
package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration. Field tags are the TOML keys.
type Config struct {
	Storage    Storage    `toml:"storage"`
	HTTP       HTTP       `toml:"http"`
	SMTP       SMTP       `toml:"smtp"`
	Submission Submission `toml:"submission"`
	IMAP       IMAP       `toml:"imap"`
	TLS        TLS        `toml:"tls"`
	Outbound   Outbound   `toml:"outbound"`
	Tokens     Tokens     `toml:"tokens"`
	Templates  Templates  `toml:"templates"`
	Log        Log        `toml:"log"`

	// Dev is true when no file was given: loopback, capture, plain AUTH.
	Dev bool `toml:"-"`
}

// Storage selects the database.
type Storage struct {
	Driver  string `toml:"driver"`   // sqlite or postgres
	DSN     string `toml:"dsn"`      // PostgreSQL DSN (env PARTNERMAIL_DSN)
	DataDir string `toml:"data_dir"` // SQLite file, blobs, captured mail, secrets
}

// HTTP is the health, metrics and unsubscribe listener.
type HTTP struct {
	Listen    string `toml:"listen"`
	ListenTLS string `toml:"listen_tls"` // HTTPS with the [tls] certificate
}

// SMTP is the inbound listener partners' mail servers talk to.
type SMTP struct {
	Listen          string   `toml:"listen"`
	Hostname        string   `toml:"hostname"`
	MaxMessageBytes int64    `toml:"max_message_bytes"`
	MaxRecipients   int      `toml:"max_recipients"`
	MaxLineLength   int      `toml:"max_line_length"`
	ReadTimeout     Duration `toml:"read_timeout"`
	WriteTimeout    Duration `toml:"write_timeout"`
	MaxConnsPerIP   int      `toml:"max_conns_per_ip"`
	AuthChecks      string   `toml:"auth_checks"` // off, record or enforce
	AuthservID      string   `toml:"authserv_id"`
}

// Submission is the listener staff mail clients send through.
type Submission struct {
	Listen       string `toml:"listen"`     // plain + STARTTLS (587)
	ListenTLS    string `toml:"listen_tls"` // implicit TLS (465)
	InsecureAuth bool   `toml:"insecure_auth"`
}

// IMAP is the listener staff mail clients read through.
type IMAP struct {
	Listen       string `toml:"listen"`     // plain + STARTTLS (143)
	ListenTLS    string `toml:"listen_tls"` // implicit TLS (993)
	InsecureAuth bool   `toml:"insecure_auth"`
	// EnvelopeCacheMB is the memory kept for cached ENVELOPE texts, in
	// MB: 0 means the default (128), negative turns it off.
	EnvelopeCacheMB int `toml:"envelope_cache_mb"`
	// BlobCacheMB is the memory kept for the bodies of small messages
	// clients downloaded, in MB: 0 means the default (64), negative turns
	// it off.
	BlobCacheMB int `toml:"blob_cache_mb"`
}

// TLS names the certificate of every listener; reloaded on SIGHUP.
type TLS struct {
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// Outbound configures the delivery of email to partners.
type Outbound struct {
	Mode      string    `toml:"mode"` // capture or relay
	Relay     Relay     `toml:"relay"`
	Rate      float64   `toml:"rate"` // emails per second, 0: unlimited
	Workers   int       `toml:"workers"`
	Lifetime  Duration  `toml:"lifetime"`
	PublicURL string    `toml:"public_url"` // base of one-click unsubscribe links
	DKIM      []DKIMKey `toml:"dkim"`
}

// Relay is the smarthost outbound mail goes through.
type Relay struct {
	Host     string `toml:"host"`
	Port     int    `toml:"port"`
	TLSMode  string `toml:"tls_mode"` // none, starttls or tls
	Username string `toml:"username"`
	Password string `toml:"password"`
}

// DKIMKey signs outbound mail of one domain.
type DKIMKey struct {
	Domain   string `toml:"domain"`
	Selector string `toml:"selector"`
	KeyFile  string `toml:"key_file"`
}

// Tokens holds the secrets that sign address tokens. The first key that
// is not expired mints; all verify until their not_after.
type Tokens struct {
	Keys []TokenKey `toml:"keys"`
}

// TokenKey is one token secret.
type TokenKey struct {
	ID         int       `toml:"id"`
	Secret     string    `toml:"secret"`
	SecretFile string    `toml:"secret_file"`
	NotAfter   time.Time `toml:"not_after"`
}

// Templates points at per-company template overrides.
type Templates struct {
	Dir string `toml:"dir"`
}

// Log configures structured logs.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text or json
}

// Duration is a time.Duration written as "30s", "5m", "120h".
type Duration struct{ time.Duration }

// UnmarshalText parses a duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes a duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns the configuration of dev mode.
func Default() Config {
	return Config{
		Storage: Storage{Driver: "sqlite", DataDir: "partnermail-data"},
		HTTP:    HTTP{Listen: "127.0.0.1:8025"},
		SMTP: SMTP{
			Listen: "127.0.0.1:2525", Hostname: "localhost",
			// A 250 MB attachment is about 342 MB once base64-encoded.
			MaxMessageBytes: 360 << 20, MaxRecipients: 50, MaxLineLength: 2000,
			ReadTimeout: Duration{5 * time.Minute}, WriteTimeout: Duration{5 * time.Minute},
			MaxConnsPerIP: 64, AuthChecks: "record", AuthservID: "partnermail",
		},
		Submission: Submission{Listen: "127.0.0.1:1587"},
		IMAP:       IMAP{Listen: "127.0.0.1:1143"},
		Outbound: Outbound{
			Mode: "capture", Workers: 4, Lifetime: Duration{5 * 24 * time.Hour},
			PublicURL: "http://127.0.0.1:8025", Relay: Relay{Port: 587, TLSMode: "starttls"},
		},
		Log: Log{Level: "info", Format: "text"},
	}
}

// Load reads the file at path over the defaults; an empty path gives dev
// mode. Unknown keys are errors naming the key, so a typo never passes
// silently. Environment variables PARTNERMAIL_DSN and PARTNERMAIL_SECRET
// override the file.
func Load(path string) (Config, error) {
	c := Default()
	if path == "" {
		c.Dev = true
		c.SMTP.AuthChecks = "off"
		c.Submission.InsecureAuth = true
		c.IMAP.InsecureAuth = true
	} else {
		md, err := toml.DecodeFile(path, &c)
		if err != nil {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			keys := make([]string, len(und))
			for i, k := range und {
				keys[i] = k.String()
			}
			return Config{}, fmt.Errorf("config %s: unknown key %s", path, strings.Join(keys, ", "))
		}
	}
	if v := os.Getenv("PARTNERMAIL_DSN"); v != "" {
		c.Storage.DSN = v
		if path == "" || c.Storage.Driver == "sqlite" && strings.HasPrefix(v, "postgres") {
			c.Storage.Driver = "postgres"
		}
	}
	if v := os.Getenv("PARTNERMAIL_SECRET"); v != "" {
		c.Tokens.Keys = append([]TokenKey{{ID: 1, Secret: v}}, c.Tokens.Keys...)
	}
	return c, c.Validate()
}

// Validate checks the values that have a fixed set of choices.
func (c Config) Validate() error {
	var errs []error
	oneOf := func(key, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		errs = append(errs, fmt.Errorf("%s = %q: want one of %s", key, v, strings.Join(allowed, ", ")))
	}
	oneOf("storage.driver", c.Storage.Driver, "sqlite", "postgres")
	oneOf("smtp.auth_checks", c.SMTP.AuthChecks, "off", "record", "enforce")
	oneOf("outbound.mode", c.Outbound.Mode, "capture", "relay")
	oneOf("outbound.relay.tls_mode", c.Outbound.Relay.TLSMode, "none", "starttls", "tls")
	oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf("log.format", c.Log.Format, "text", "json")
	if c.Storage.Driver == "postgres" && c.Storage.DSN == "" {
		errs = append(errs, errors.New("storage.dsn is required with driver postgres (or set PARTNERMAIL_DSN)"))
	}
	if c.Outbound.Mode == "relay" && c.Outbound.Relay.Host == "" {
		errs = append(errs, errors.New("outbound.relay.host is required with mode relay"))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls.cert_file and tls.key_file go together"))
	}
	for key, addr := range map[string]string{"http.listen_tls": c.HTTP.ListenTLS, "submission.listen_tls": c.Submission.ListenTLS, "imap.listen_tls": c.IMAP.ListenTLS} {
		if addr != "" && c.TLS.CertFile == "" {
			errs = append(errs, fmt.Errorf("%s needs a certificate: set tls.cert_file and tls.key_file", key))
		}
	}
	for _, k := range c.Tokens.Keys {
		if k.ID < 1 || k.ID > 255 {
			errs = append(errs, fmt.Errorf("tokens.keys id %d: want 1 to 255", k.ID))
		}
		if (k.Secret == "") == (k.SecretFile == "") {
			errs = append(errs, fmt.Errorf("tokens.keys id %d: set exactly one of secret, secret_file", k.ID))
		}
	}
	return errors.Join(errs...)
}
