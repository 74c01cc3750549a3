package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/partnermail/partnermail/outbound"
	"github.com/partnermail/partnermail/templates"
)

// wireOutbound adds the outbound worker (relay, or capture to
// <data_dir>/outbox in dev mode and with mode "capture") and the one-click
// unsubscribe endpoint of the emails it sends.
func (g *gateway) wireOutbound() error {
	c := g.cfg.Outbound
	tr, where, err := outboundTransport(g)
	if err != nil {
		return err
	}
	tpl, err := templates.New(g.cfg.Templates.Dir)
	if err != nil {
		return err
	}
	comp, err := outbound.NewComposer(outbound.ComposerConfig{
		Store: g.store, Tokens: g.tokens, Templates: tpl, PublicURL: c.PublicURL,
	})
	if err != nil {
		return err
	}
	w, err := outbound.NewWorker(outbound.WorkerConfig{
		Store: g.store, Composer: comp, Transport: tr, Hub: g.hub,
		Log:      g.log.With("service", "outbound"),
		Lifetime: c.Lifetime.Duration, Rate: c.Rate, Workers: c.Workers,
		Registerer: g.reg,
	})
	if err != nil {
		tr.Close()
		return err
	}
	if !g.cfg.Dev && captureMode(false, c.Mode) {
		g.log.Warn("outbound mail is captured to files, not sent: set [outbound] mode = \"relay\" to send it", "outbox", outboxDir(g.cfg.Storage.DataDir))
	}
	g.log.Info("outbound worker", "transport", where, "workers", c.Workers, "rate", c.Rate, "lifetime", c.Lifetime.Duration)
	g.workers = append(g.workers, func(ctx context.Context) error {
		defer tr.Close()
		return w.Run(ctx)
	})
	g.unsubscribeRoutes()
	g.reloadTemplatesOnHUP(comp)
	return nil
}

// captureMode reports whether outbound mail is captured to files.
func captureMode(dev bool, mode string) bool { return dev || mode == "" || mode == "capture" }

// outboxDir is where captured emails go.
func outboxDir(dataDir string) string { return filepath.Join(dataDir, "outbox") }

// outboundTransport builds the transport the configuration asks for and
// says where mail goes, for the log.
func outboundTransport(g *gateway) (outbound.Transport, string, error) {
	c := g.cfg.Outbound
	if captureMode(g.cfg.Dev, c.Mode) {
		capt, err := outbound.NewCapture(outboxDir(g.cfg.Storage.DataDir))
		if err != nil {
			return nil, "", err
		}
		return capt, "capture to " + capt.Dir(), nil
	}
	if c.Mode != "relay" {
		return nil, "", fmt.Errorf("outbound.mode %q: want capture or relay", c.Mode)
	}
	keys := make([]outbound.DKIMKey, len(c.DKIM))
	for i, k := range c.DKIM {
		keys[i] = outbound.DKIMKey{Domain: k.Domain, Selector: k.Selector, KeyFile: k.KeyFile}
	}
	dk, err := outbound.LoadDKIM(keys)
	if err != nil {
		return nil, "", err
	}
	r := c.Relay
	tr, err := outbound.NewRelay(outbound.RelayConfig{
		Host: r.Host, Port: r.Port, TLS: r.TLSMode, Username: r.Username, Password: r.Password,
		HELO: g.cfg.SMTP.Hostname, MaxConns: c.Workers, DKIM: dk, Log: g.log.With("service", "outbound"),
	})
	if err != nil {
		return nil, "", err
	}
	return tr, fmt.Sprintf("relay %s:%d (%s)", r.Host, r.Port, r.TLSMode), nil
}
