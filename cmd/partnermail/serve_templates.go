package main

import (
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
	g.onHUP(func() {
		tpl, err := templates.New(dir)
		if err != nil {
			g.log.Error("SIGHUP: email templates not reloaded, the previous ones stay in use", "err", err)
			return
		}
		comp.SetTemplates(tpl)
		g.log.Info("SIGHUP: email templates reloaded", "dir", dir)
	})
}
