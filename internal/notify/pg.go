package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PGConfig configures a PostgreSQL hub. Zero values mean defaults.
type PGConfig struct {
	DSN string
	// Channel is the LISTEN/NOTIFY channel. Default: "partnermail_" and
	// the connection's current schema, so gateways in separate schemas of
	// one database do not wake each other.
	Channel string
	Logger  *slog.Logger
	// Retry is the longest wait between reconnection attempts (default 5s).
	Retry time.Duration
	// Check is how long the listener waits quietly before pinging the
	// server to detect a silently dead connection (default 30s).
	Check time.Duration
}

// PG is a Hub across processes: Publish sends pg_notify on the channel,
// a dedicated connection LISTENs and wakes this process's subscribers.
// Events published while the listener is disconnected are lost, so after
// every (re)connection it wakes every subscriber, and they re-read the
// database.
type PG struct {
	cfg    PGConfig
	local  *Local
	pool   *pgxpool.Pool
	origin string // payload suffix: this process's own events are delivered locally
	log    *slog.Logger
}

var _ Hub = (*PG)(nil)

// NewPG connects the publishing pool; Run must be running to receive.
func NewPG(ctx context.Context, cfg PGConfig) (*PG, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 5 * time.Second
	}
	if cfg.Check <= 0 {
		cfg.Check = 30 * time.Second
	}
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	pc.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	if cfg.Channel == "" {
		var schema string
		if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			pool.Close()
			return nil, fmt.Errorf("notify: find the schema: %w", err)
		}
		cfg.Channel = "partnermail_" + schema
	}
	if len(cfg.Channel) > 63 { // NAMEDATALEN-1: PostgreSQL would truncate LISTEN but not pg_notify
		cfg.Channel = cfg.Channel[:63]
	}
	b := make([]byte, 8)
	rand.Read(b)
	return &PG{cfg: cfg, local: NewLocal(), pool: pool, origin: hex.EncodeToString(b), log: cfg.Logger}, nil
}

// Publish wakes this process's subscribers at once and the other
// processes' through pg_notify. Call it after the change is committed.
func (p *PG) Publish(ctx context.Context, topic Topic, companyID int64) error {
	p.local.Wake(topic, companyID)
	payload := fmt.Sprintf("%s:%d:%s", topic, companyID, p.origin)
	if _, err := p.pool.Exec(ctx, "SELECT pg_notify($1, $2)", p.cfg.Channel, payload); err != nil {
		return fmt.Errorf("notify %s: %w", topic, err)
	}
	return nil
}

// Subscribe registers a coalescing channel in this process.
func (p *PG) Subscribe(topic Topic, companyID int64) (<-chan struct{}, func()) {
	return p.local.Subscribe(topic, companyID)
}

// Close releases the publishing connections; Publish fails afterwards.
func (p *PG) Close() { p.pool.Close() }

// Channel returns the LISTEN/NOTIFY channel in use.
func (p *PG) Channel() string { return p.cfg.Channel }

// Run listens until ctx ends, reconnecting after a lost connection.
func (p *PG) Run(ctx context.Context) error {
	wait := 100 * time.Millisecond
	for {
		err := p.listen(ctx, func() { wait = 100 * time.Millisecond })
		if ctx.Err() != nil {
			return nil
		}
		p.log.Warn("notify: listener connection lost, reconnecting", "channel", p.cfg.Channel, "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, p.cfg.Retry)
	}
}

// listen runs one connection: LISTEN, wake everyone (events may have
// been missed before), then deliver notifications until an error.
func (p *PG) listen(ctx context.Context, connected func()) error {
	conn, err := pgx.Connect(ctx, p.cfg.DSN)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{p.cfg.Channel}.Sanitize()); err != nil {
		return err
	}
	connected()
	p.log.Debug("notify: listening", "channel", p.cfg.Channel)
	p.local.WakeAll()
	for {
		wctx, cancel := context.WithTimeout(ctx, p.cfg.Check)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			p.deliver(n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded):
			pctx, cancel := context.WithTimeout(ctx, p.cfg.Check)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		default:
			return err
		}
	}
}

// deliver wakes local subscribers for a payload "topic:company:origin".
func (p *PG) deliver(payload string) {
	parts := strings.Split(payload, ":")
	if len(parts) != 3 {
		p.log.Warn("notify: unknown payload", "payload", payload)
		return
	}
	if parts[2] == p.origin {
		return // already delivered by Publish
	}
	id, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		p.log.Warn("notify: unknown payload", "payload", payload)
		return
	}
	p.local.Wake(Topic(parts[0]), id)
}
