package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/outbound"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

type queueCmd struct {
	List  queueListCmd  `cmd:"" help:"List outbound emails: queued (default), failed or sent."`
	Retry queueRetryCmd `cmd:"" help:"Queue a failed or dropped email again, due now."`
	Drop  queueDropCmd  `cmd:"" help:"Take an email out of the queue."`
}

type queueListCmd struct {
	Failed  bool   `help:"Failed emails (5xx, or lifetime ended)." xor:"state"`
	Sent    bool   `help:"Sent emails (with the captured file in capture mode)." xor:"state"`
	All     bool   `help:"Emails in every state." xor:"state"`
	Company string `help:"Company slug (default: every company)."`
	Limit   int    `default:"1000" help:"At most this many emails per company (0: all)."`
}

// queueRow is one email of queue list --json.
type queueRow struct {
	storage.OutboundEmail
	Company string `json:"company"`
	File    string `json:"file,omitempty"` // captured .eml (capture mode, sent)
}

func (c *queueListCmd) Run(a *app) error {
	state := storage.QueueQueued
	switch {
	case c.Failed:
		state = storage.QueueFailed
	case c.Sent:
		state = storage.QueueSent
	case c.All:
		state = ""
	}
	s, companies, err := queueCompanies(a, c.Company)
	if err != nil {
		return err
	}
	files := map[string]string{}
	if cfg, _ := a.config(); c.Sent || c.All {
		if captureMode(cfg.Dev, cfg.Outbound.Mode) {
			captured, err := outbound.ListCaptured(outboxDir(cfg.Storage.DataDir))
			if err != nil {
				return err
			}
			for _, m := range captured {
				files[m.MessageID] = m.Path
			}
		}
	}
	var out []queueRow
	for _, co := range companies {
		es, err := s.Queue(a.ctx, co.ID, state, c.Limit)
		if err != nil {
			return err
		}
		for _, e := range es {
			out = append(out, queueRow{OutboundEmail: e, Company: co.Slug, File: files[e.MessageID]})
		}
	}
	slices.SortFunc(out, func(x, y queueRow) int { return int(x.ID - y.ID) })
	rows := make([][]string, len(out))
	for i, r := range out {
		when := r.UpdatedAt
		if r.State == storage.QueueQueued {
			when = r.NextAttemptAt
		}
		info := oneLine(r.LastError, 70)
		if r.File != "" {
			info = r.File
		}
		rows[i] = []string{strconv.FormatInt(r.ID, 10), r.Company, r.State, r.Rcpt, strconv.Itoa(r.Attempts),
			when.Local().Format(time.DateTime), kindOf(r.OutboundEmail), info}
	}
	if out == nil {
		out = []queueRow{}
	}
	return a.print(out, []string{"ID", "COMPANY", "STATE", "RECIPIENT", "ATTEMPTS", "NEXT/LAST", "KIND", "ERROR/FILE"}, rows)
}

func kindOf(e storage.OutboundEmail) string {
	if e.CampaignID != 0 {
		return "campaign " + strconv.FormatInt(e.CampaignID, 10)
	}
	return "message " + strconv.FormatInt(e.MessageRowID, 10)
}

// oneLine shortens an error text for a table cell.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// queueCompanies opens the store and returns the company named by slug,
// or every company when slug is empty.
func queueCompanies(a *app, slug string) (*sqlstore.Store, []storage.Company, error) {
	if slug != "" {
		s, co, err := a.company(slug)
		return s, []storage.Company{co}, err
	}
	s, err := a.open()
	if err != nil {
		return nil, nil, err
	}
	cs, err := s.Companies(a.ctx)
	return s, cs, err
}

type queueRetryCmd struct {
	ID        int64  `arg:"" optional:"" help:"Email id (see queue list)."`
	AllFailed bool   `help:"Every failed email (of --company, or of every company)."`
	Company   string `help:"Company slug: only its emails."`
}

func (c *queueRetryCmd) Run(a *app) error {
	if (c.ID == 0) == !c.AllFailed {
		return errors.New("give an email id or --all-failed")
	}
	s, companies, err := queueCompanies(a, c.Company)
	if err != nil {
		return err
	}
	var ids []int64
	if c.AllFailed {
		for _, co := range companies {
			es, err := s.Queue(a.ctx, co.ID, storage.QueueFailed, 0)
			if err != nil {
				return err
			}
			for _, e := range es {
				if err := s.RetryEmail(a.ctx, co.ID, e.ID); err != nil {
					return fmt.Errorf("email %d: %w", e.ID, err)
				}
				ids = append(ids, e.ID)
			}
		}
	} else {
		e, err := queueEmail(a, s, companies, c.ID)
		if err != nil {
			return err
		}
		if err := s.RetryEmail(a.ctx, e.CompanyID, e.ID); err != nil {
			return err
		}
		ids = append(ids, e.ID)
	}
	wakeWorkers(a, companies)
	if ids == nil {
		ids = []int64{}
	}
	return a.done(map[string]any{"queued": ids}, "%d email(s) queued again", len(ids))
}

type queueDropCmd struct {
	ID      int64  `arg:"" help:"Email id (see queue list)."`
	Company string `help:"Company slug: refuse an email of another company."`
}

func (c *queueDropCmd) Run(a *app) error {
	s, companies, err := queueCompanies(a, c.Company)
	if err != nil {
		return err
	}
	e, err := queueEmail(a, s, companies, c.ID)
	if err != nil {
		return err
	}
	if err := s.DropEmail(a.ctx, e.CompanyID, e.ID); err != nil {
		return err
	}
	return a.done(map[string]any{"dropped": e.ID}, "email %d to %s dropped", e.ID, e.Rcpt)
}

// queueEmail finds an email of one of companies.
func queueEmail(a *app, s *sqlstore.Store, companies []storage.Company, id int64) (storage.OutboundEmail, error) {
	e, err := s.OutboundEmail(a.ctx, id)
	if err == nil && !slices.ContainsFunc(companies, func(co storage.Company) bool { return co.ID == e.CompanyID }) {
		err = fmt.Errorf("outbound email %d: %w", id, storage.ErrNotFound)
	}
	return e, err
}

// wakeWorkers tells the running serve processes that emails are due.
func wakeWorkers(a *app, companies []storage.Company) {
	cfg, err := a.config()
	if err != nil {
		return
	}
	hub, closeHub, err := a.commandHub(cfg)
	if err != nil {
		a.logger().Warn("queue changed, but serve could not be told: it sees it on its next poll", "err", err)
		return
	}
	defer closeHub()
	for _, co := range companies {
		hub.Publish(a.ctx, notify.Queue, co.ID)
		hub.Publish(a.ctx, notify.Mail, co.ID) // Sent delivery keywords changed
	}
}
