package testenv

import (
	"fmt"
	"strings"
)

// GatewayConfig is the TOML config of a `partnermail serve` process that a
// test or a benchmark starts: data in dir, PostgreSQL at dsn (SQLite when
// empty), every listener on 127.0.0.1:0, plain-text logins from loopback,
// one fixed token key (so several processes share it), outbound mail
// relayed to relay without TLS (captured when empty). Callers append
// tables of their own.
func GatewayConfig(dir, dsn, relay, logLevel string) string {
	var b strings.Builder
	if dsn != "" {
		fmt.Fprintf(&b, "[storage]\ndriver = \"postgres\"\ndsn = %q\ndata_dir = %q\n", dsn, dir)
	} else {
		fmt.Fprintf(&b, "[storage]\ndriver = \"sqlite\"\ndata_dir = %q\n", dir)
	}
	fmt.Fprintf(&b, `[http]
listen = "127.0.0.1:0"
[smtp]
listen = "127.0.0.1:0"
auth_checks = "off"
[submission]
listen = "127.0.0.1:0"
insecure_auth = true
[imap]
listen = "127.0.0.1:0"
insecure_auth = true
[tokens]
keys = [ { id = 1, secret = "0123456789abcdef0123456789abcdef" } ]
[log]
level = %q
`, logLevel)
	if relay != "" {
		host, port, _ := strings.Cut(relay, ":")
		fmt.Fprintf(&b, "[outbound]\nmode = \"relay\"\npublic_url = \"http://127.0.0.1:8025\"\n[outbound.relay]\nhost = %q\nport = %s\ntls_mode = \"none\"\n", host, port)
	}
	return b.String()
}
