package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/partnermail/partnermail/internal/config"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

// app is what every command runs with: streams, configuration and the
// store, opened on first use.
type app struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	cli            *cli
	serving        bool // serve logs at the configured level
	cfg            *config.Config
	store          *sqlstore.Store
}

// config loads the configuration once.
func (a *app) config() (config.Config, error) {
	if a.cfg == nil {
		c, err := config.Load(a.cli.Config)
		if err != nil {
			return config.Config{}, err
		}
		a.cfg = &c
	}
	return *a.cfg, nil
}

// logger returns the logger the configuration asks for, on stderr. Admin
// commands log warnings and errors only: their output is the result.
func (a *app) logger() *slog.Logger {
	c, _ := a.config()
	var lvl slog.Level
	lvl.UnmarshalText([]byte(c.Log.Level))
	if !a.serving && lvl < slog.LevelWarn {
		lvl = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(a.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(a.stderr, opts))
}

// open opens (and migrates) the store once.
func (a *app) open() (*sqlstore.Store, error) {
	if a.store != nil {
		return a.store, nil
	}
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	if c.Storage.Driver == "sqlite" {
		if err := os.MkdirAll(c.Storage.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data folder: %w", err)
		}
	}
	s, err := sqlstore.Open(a.ctx, sqlstore.Config{
		Driver: c.Storage.Driver, DSN: c.Storage.DSN, DataDir: c.Storage.DataDir,
		Logger: a.logger(),
	})
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", c.Storage.Driver, err)
	}
	a.store = s
	return s, nil
}

func (a *app) close() {
	if a.store != nil {
		a.store.Close()
	}
}

// company opens the store and finds a company by slug.
func (a *app) company(slug string) (*sqlstore.Store, storage.Company, error) {
	s, err := a.open()
	if err != nil {
		return nil, storage.Company{}, err
	}
	c, err := s.CompanyBySlug(a.ctx, slug)
	if err != nil {
		return nil, storage.Company{}, err // names the company already
	}
	return s, c, nil
}

// print writes v as JSON with --json, else as a table of rows under head.
func (a *app) print(v any, head []string, rows [][]string) error {
	if a.cli.JSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	if head != nil {
		fmt.Fprintln(tw, strings.Join(head, "\t"))
	}
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// done prints a one-line confirmation, or v as JSON with --json.
func (a *app) done(v any, format string, args ...any) error {
	if a.cli.JSON {
		return json.NewEncoder(a.stdout).Encode(v)
	}
	_, err := fmt.Fprintf(a.stdout, format+"\n", args...)
	return err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
