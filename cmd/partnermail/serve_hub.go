package main

import (
	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// wireHub replaces the in-process hub with the PostgreSQL one when the
// store is PostgreSQL, so change events reach every serve process on the
// database; its listener runs as a worker. The returned function releases
// it after the servers have stopped.
func (g *gateway) wireHub() (closeHub func(), err error) {
	if g.cfg.Storage.Driver != sqlstore.Postgres {
		return func() {}, nil
	}
	h, err := notify.NewPG(g.a.ctx, notify.PGConfig{DSN: g.cfg.Storage.DSN, Logger: g.log})
	if err != nil {
		return nil, err
	}
	g.hub = h
	g.workers = append(g.workers, h.Run)
	g.log.Debug("change events across processes", "channel", h.Channel())
	return h.Close, nil
}
