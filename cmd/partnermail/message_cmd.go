package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/partnermail/partnermail/outbound"
	"github.com/partnermail/partnermail/smtpd/mimewalk"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
	"github.com/partnermail/partnermail/threading"
)

type messageCmd struct {
	Send messageSendCmd `cmd:"" help:"Start a conversation with a partner team or one member (emails those with notifications on)."`
}

type messageSendCmd struct {
	Company  string   `required:"" help:"Company slug."`
	Team     string   `help:"Team name or slug: a conversation with the whole team." xor:"audience"`
	Member   string   `help:"Member email: a conversation with that member." xor:"audience"`
	From     string   `required:"" help:"Staff email of the author."`
	Subject  string   `required:"" help:"Subject."`
	BodyFile string   `required:"" help:"File with the message text (UTF-8; - for stdin)." type:"path"`
	Attach   []string `sep:"none" help:"File to attach (repeatable): JPEG, PNG, GIF up to 30 MB; PDF and office documents up to 250 MB; at most 10." type:"existingfile"`
}

// messageSent is the --json output of message send.
type messageSent struct {
	ThreadID    int64  `json:"thread_id"`
	MessageID   int64  `json:"message_id"`
	MsgID       string `json:"msgid"`
	Attachments int    `json:"attachments"`
}

func (c *messageSendCmd) Run(a *app) error {
	if (c.Team == "") == (c.Member == "") {
		return errors.New("give --team or --member")
	}
	body, err := a.readBody(c.BodyFile)
	if err != nil {
		return err
	}
	policy := mimewalk.DefaultPolicy()
	for i, p := range c.Attach { // refuse early, before anything is stored
		if err := checkAttachment(policy, p, i+1); err != nil {
			return fmt.Errorf("message not sent: %w", err)
		}
	}
	s, co, err := a.company(c.Company)
	if err != nil {
		return err
	}
	staff, err := staffOf(a, s, co, c.From)
	if err != nil {
		return err
	}
	post := outbound.Post{CompanyID: co.ID, StaffID: staff.ID}
	var to string
	if c.Member != "" {
		m, err := s.MemberByEmail(a.ctx, co.ID, c.Member)
		if err != nil {
			return fmt.Errorf("member %q: %w", c.Member, err)
		}
		post.TeamID, post.MemberID, to = m.TeamID, m.ID, m.Email
	} else {
		t, err := s.TeamByName(a.ctx, co.ID, c.Team)
		if errors.Is(err, storage.ErrNotFound) {
			t, err = s.TeamBySlug(a.ctx, co.ID, c.Team)
		}
		if err != nil {
			return fmt.Errorf("team %q: %w", c.Team, err)
		}
		post.TeamID, to = t.ID, "team+"+t.Slug+"@"+primaryDomain(co)
	}
	now := time.Now()
	msgID := threading.NewMessageID(primaryDomain(co), now)
	msg, err := composeStaffMessage(staff, to, c.Subject, body, msgID, now, c.Attach)
	if err != nil {
		return err
	}
	walker, err := mimewalk.New(mimewalk.Config{Blobs: s.Blobs(), Policy: policy, Logger: a.logger()})
	if err != nil {
		return err
	}
	res, err := walk(a, walker, msg)
	if err != nil {
		return fmt.Errorf("message not sent: %w", err)
	}
	post.Message = storage.Message{
		MessageID: msgID, Subject: c.Subject, FromAddr: staff.Email, Date: now,
		Size: res.RawSize, RawKey: res.RawKey, Text: strings.TrimRight(res.Text, " \t\r\n"), Attachments: res.Attachments,
	}
	p, closeHub, err := a.poster(s)
	if err != nil {
		walker.Discard(a.ctx, res)
		return err
	}
	defer closeHub()
	m, _, err := p.Post(a.ctx, post)
	if err != nil {
		walker.Discard(a.ctx, res)
		return fmt.Errorf("message not sent: %w", err)
	}
	return a.done(messageSent{ThreadID: m.ThreadID, MessageID: m.ID, MsgID: m.MessageID, Attachments: len(m.Attachments)},
		"%d", m.ThreadID)
}

// readBody reads a message body from a file, or stdin for "-".
func (a *app) readBody(path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(a.stdin, 10<<20))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("body: %w", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return "", fmt.Errorf("body %s is empty", path)
	}
	return string(b), nil
}

// checkAttachment applies the attachment policy to one file.
func checkAttachment(p mimewalk.Policy, path string, index int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = p.CheckFile(filepath.Base(path), index, f, fi.Size())
	return err
}

// staffOf finds the staff author by email within the company.
func staffOf(a *app, s *sqlstore.Store, co storage.Company, email string) (storage.Staff, error) {
	st, err := s.StaffByEmail(a.ctx, email)
	if err != nil || st.CompanyID != co.ID {
		return storage.Staff{}, fmt.Errorf("staff %q of %s: %w", email, co.Slug, storage.ErrNotFound)
	}
	return st, nil
}

func primaryDomain(co storage.Company) string {
	if len(co.Domains) > 0 {
		return co.Domains[0]
	}
	return co.FromAddr[strings.LastIndexByte(co.FromAddr, '@')+1:]
}

// composeStaffMessage builds the raw message as the staff member would
// have sent it through submission: From the staff, To the team or member
// address, the text and the attachments (streamed from their files).
func composeStaffMessage(st storage.Staff, to, subject, body, msgID string, date time.Time, attach []string) (*mail.Msg, error) {
	m := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := m.FromFormat(st.Name, st.Email); err != nil {
		return nil, fmt.Errorf("from %q: %w", st.Email, err)
	}
	if err := m.To(to); err != nil {
		return nil, fmt.Errorf("to %q: %w", to, err)
	}
	m.Subject(subject)
	m.SetMessageIDWithValue(msgID)
	m.SetDateWithValue(date)
	m.SetBodyString(mail.TypeTextPlain, body)
	for _, p := range attach {
		m.AttachFile(p)
	}
	return m, nil
}

// walk writes msg through the walker, which stores it and its attachments
// as blobs and enforces the attachment policy exactly as for inbound mail.
func walk(a *app, w *mimewalk.Walker, msg *mail.Msg) (*mimewalk.Result, error) {
	pr, pw := io.Pipe()
	wrote := make(chan error, 1)
	go func() {
		_, err := msg.WriteTo(pw)
		pw.CloseWithError(err)
		wrote <- err
	}()
	res, err := w.Walk(a.ctx, pr)
	pr.Close() // unblocks the writer if the walk stopped early
	if werr := <-wrote; werr != nil && err == nil {
		w.Discard(a.ctx, res)
		return nil, fmt.Errorf("write message: %w", werr)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// poster returns a Poster on the store. With PostgreSQL it publishes its
// events to the serve processes (their workers wake at once); with SQLite
// the worker finds the new emails on its next poll.
func (a *app) poster(s *sqlstore.Store) (*outbound.Poster, func(), error) {
	cfg, err := a.config()
	if err != nil {
		return nil, nil, err
	}
	hub, closeHub, err := a.commandHub(cfg)
	if err != nil {
		return nil, nil, err
	}
	p, err := outbound.NewPoster(outbound.PosterConfig{
		Store: s, Hub: hub, Lifetime: cfg.Outbound.Lifetime.Duration, Log: a.logger(),
	})
	if err != nil {
		closeHub()
		return nil, nil, err
	}
	return p, closeHub, nil
}
