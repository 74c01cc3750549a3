package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
)

// errClosed is returned by writes after Close.
var errClosed = errors.New("store closed")

// committer is the group commit of SQLite: writes queued by concurrent
// callers run one after another inside one transaction of the single
// writer connection, each in a savepoint of its own, and the transaction
// commits (one WAL fsync) before any of them returns. A write that fails
// rolls back to its savepoint and does not disturb the others.
type committer struct {
	db    *sql.DB
	stmts *stmtCache // of db
	max   int
	log   *slog.Logger
	reqs  chan *writeReq
	quit  chan struct{}
	// stopped is closed once the loop has returned.
	stopped chan struct{}
	wg      sync.WaitGroup
	once    sync.Once

	batches, writes atomic.Int64 // for tests and benchmarks
}

type writeReq struct {
	ctx context.Context
	fn  func(*Tx) error
	err chan error
}

func newCommitter(db *sql.DB, max int, log *slog.Logger) *committer {
	c := &committer{db: db, stmts: newStmtCache(db, true), max: max, log: log, reqs: make(chan *writeReq, max),
		quit: make(chan struct{}), stopped: make(chan struct{})}
	c.wg.Add(1)
	go c.loop()
	return c
}

// do queues fn and waits for the commit of the batch that carries it. Once
// queued, a write is waited for even if ctx ends, because it may commit.
func (c *committer) do(ctx context.Context, fn func(*Tx) error) error {
	select {
	case <-c.quit:
		return errClosed
	default:
	}
	r := &writeReq{ctx: ctx, fn: fn, err: make(chan error, 1)}
	select {
	case c.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.quit:
		return errClosed
	}
	select {
	case err := <-r.err:
		return err
	case <-c.stopped:
		// The loop is gone; a write it did not take never runs.
		select {
		case err := <-r.err:
			return err
		default:
			return errClosed
		}
	}
}

// close stops the loop after the batch in progress; queued writes fail.
func (c *committer) close() {
	c.once.Do(func() { close(c.quit) })
	c.wg.Wait()
	for {
		select {
		case r := <-c.reqs:
			r.err <- errClosed
		default:
			return
		}
	}
}

func (c *committer) loop() {
	defer c.wg.Done()
	defer close(c.stopped)
	batch := make([]*writeReq, 0, c.max)
	for {
		select {
		case <-c.quit:
			return
		case r := <-c.reqs:
			batch = append(batch[:0], r)
		}
	fill:
		for len(batch) < c.max {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		c.run(batch)
		clear(batch)
		c.stmts.prepareNoted(context.Background())
	}
}

// run executes one batch and reports to every caller.
func (c *committer) run(batch []*writeReq) {
	c.batches.Add(1)
	c.writes.Add(int64(len(batch)))
	errs := make([]error, len(batch))
	err := c.runTx(batch, errs)
	for i, r := range batch {
		if err != nil && errs[i] == nil {
			errs[i] = err
		}
		r.err <- errs[i]
	}
}

// runTx runs the batch in one transaction, filling errs with each write's
// own failure; it returns an error when the transaction as a whole failed
// (nothing of the batch is committed then).
func (c *committer) runTx(batch []*writeReq, errs []error) error {
	ctx := context.Background() // the batch outlives any one caller's ctx
	sqlTx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{conn{q: sqlTx, stmts: c.stmts}}
	single := len(batch) == 1
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if single {
			// No savepoint needed: the transaction is this write's own.
			if errs[i] = r.fn(tx); errs[i] != nil {
				sqlTx.Rollback()
				return nil
			}
			break
		}
		if _, err := sqlTx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			sqlTx.Rollback()
			return fmt.Errorf("savepoint: %w", err)
		}
		if errs[i] = r.fn(tx); errs[i] != nil {
			if _, err := sqlTx.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
				sqlTx.Rollback()
				return fmt.Errorf("rollback to savepoint: %w", err)
			}
		}
		if _, err := sqlTx.ExecContext(ctx, "RELEASE w"); err != nil {
			sqlTx.Rollback()
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		c.log.Error("group commit failed", "writes", len(batch), "err", err)
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
