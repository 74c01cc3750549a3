package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// onHUP adds a worker that calls reload on every SIGHUP. The signal is
// registered now, not when the worker starts, so a SIGHUP right after the
// banner cannot take the default action (ending the process). Each caller
// gets its own channel: every reload runs on every SIGHUP.
func (g *gateway) onHUP(reload func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	g.workers = append(g.workers, func(ctx context.Context) error {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-hup:
				reload()
			}
		}
	})
}
