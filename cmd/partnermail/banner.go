package main

import (
	"fmt"
	"strings"
)

// banner prints where everything listens and, in dev mode, what to do next.
func (g *gateway) banner() {
	w := g.a.stderr
	fmt.Fprintf(w, "partnermail is running (%s database", g.store.Driver())
	if g.cfg.Storage.Driver == "sqlite" {
		fmt.Fprintf(w, " in %s", g.cfg.Storage.DataDir)
	}
	fmt.Fprintln(w, ")")
	for _, s := range g.servers {
		fmt.Fprintf(w, "  %-11s %s\n", s.name, s.l.Addr())
	}
	if !g.cfg.Dev {
		return
	}
	addr := func(name string) string {
		for _, s := range g.servers {
			if s.name == name {
				return s.l.Addr().String()
			}
		}
		return "(not running)"
	}
	host, port, _ := strings.Cut(addr("smtp"), ":")
	fmt.Fprintf(w, "\nDev mode: loopback only, outbound mail captured under %s/outbox.\n", g.cfg.Storage.DataDir)
	from, to := "member@example.com", "partners@partners.acme.localhost"
	if g.demoData {
		from, to = demoPartner, "partners@"+demoDomain
		fmt.Fprint(w, "With the demo company above, point")
	} else {
		fmt.Fprint(w, `Next steps (in another terminal):
  go run ./cmd/partnermail company add --slug acme --name "Acme" --domain partners.acme.localhost
  echo 'a-long-password' | go run ./cmd/partnermail staff add --company acme --email you@acme.localhost --name "You"
  go run ./cmd/partnermail group add --company acme --name Resellers
  go run ./cmd/partnermail partner import --company acme partners.csv
Or restart with --demo for ready-made data. Then point`)
	}
	fmt.Fprintf(w, ` a mail client at IMAP %s
and SMTP submission %s, and send partner mail with:
  swaks --server %s --port %s --from %s --to %s
Health: curl http://%s/healthz
`, addr("imap"), addr("submission"), host, port, from, to, addr("http"))
}
