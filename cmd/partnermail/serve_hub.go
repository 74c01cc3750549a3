package main

import (
	"path/filepath"

	"github.com/partnermail/partnermail/internal/config"
	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// wireHub makes change events reach every process on the database: with
// PostgreSQL the hub is LISTEN/NOTIFY (several serve processes, and admin
// commands, on one database); with SQLite serve keeps its in-process hub
// and watches the events file admin commands append to. The returned
// function releases the hub after the servers have stopped.
func (g *gateway) wireHub() (closeHub func(), err error) {
	if g.cfg.Storage.Driver != sqlstore.Postgres {
		if local, ok := g.hub.(*notify.Local); ok {
			w := &notify.FileWatcher{Path: eventsFile(g.cfg), Local: local}
			g.workers = append(g.workers, w.Run)
		}
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

// commandHub is the hub of an admin command that changes what serve
// watches (queued emails, messages): it reaches the running serve
// processes through PostgreSQL, or through the events file with SQLite.
func (a *app) commandHub(cfg config.Config) (notify.Hub, func(), error) {
	if cfg.Storage.Driver != sqlstore.Postgres {
		return notify.NewFilePublisher(eventsFile(cfg)), func() {}, nil
	}
	h, err := notify.NewPG(a.ctx, notify.PGConfig{DSN: cfg.Storage.DSN, Logger: a.logger()})
	if err != nil {
		return nil, nil, err
	}
	return h, h.Close, nil
}

// eventsFile is where SQLite admin commands leave events for serve.
func eventsFile(cfg config.Config) string {
	return filepath.Join(cfg.Storage.DataDir, "events")
}
