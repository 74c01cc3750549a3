package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/partnermail/partnermail/outbound"
	"github.com/partnermail/partnermail/templates"
)

// reloadTemplatesOnHUP adds a worker that loads the template overrides of
// [templates] dir again on SIGHUP and hands them to comp for the emails
// composed from then on. A broken override is logged with its file and
// line, and the templates in use stay. Without a dir there is nothing to
// reload.
func (g *gateway) reloadTemplatesOnHUP(comp *outbound.TemplateComposer) {
	dir := g.cfg.Templates.Dir
	if dir == "" {
		return
	}
	// Registered now, like the TLS reload, so an early SIGHUP cannot end
	// the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	g.workers = append(g.workers, func(ctx context.Context) error {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-hup:
				tpl, err := templates.New(dir)
				if err != nil {
					g.log.Error("SIGHUP: email templates not reloaded, the previous ones stay in use", "err", err)
					continue
				}
				comp.SetTemplates(tpl)
				g.log.Info("SIGHUP: email templates reloaded", "dir", dir)
			}
		}
	})
}
