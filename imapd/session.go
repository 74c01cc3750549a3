package imapd

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/partnermail/partnermail/internal/auth"
	"github.com/partnermail/partnermail/internal/notify"
	"github.com/partnermail/partnermail/storage"
)

// session is one IMAP connection. imapserver calls its methods one at a
// time, except Idle, which runs while the connection waits for DONE.
type session struct {
	srv    *Server
	conn   *imapserver.Conn
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger

	staff   storage.Staff
	company storage.Company
	sel     *selected // nil unless a mailbox is selected
	env     envBuf    // the ENVELOPE being written (fetchOne)
}

var (
	_ imapserver.SessionIMAP4rev2   = (*session)(nil)
	_ imapserver.SessionAppendLimit = (*session)(nil)
)

func (s *Server) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	ctx, cancel := context.WithCancel(s.ctx)
	sess := &session{srv: s, conn: c, ctx: ctx, cancel: cancel,
		log: s.log.With("remote", c.NetConn().RemoteAddr().String())}
	if !s.track(sess, true) {
		cancel()
		return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Text: "Server shutting down"}
	}
	if s.cfg.Observe.Command != nil || s.cfg.Observe.Login != nil {
		return &observed{session: sess, obs: s.cfg.Observe}, nil, nil
	}
	return sess, nil, nil
}

// Close ends the session.
func (s *session) Close() error {
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	s.cancel()
	s.srv.track(s, false)
	return nil
}

func (s *session) remoteIP() string {
	a := s.conn.NetConn().RemoteAddr()
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, _ := net.SplitHostPort(a.String())
	return host
}

// Login checks a staff member's email and password.
func (s *session) Login(username, password string) error {
	email := strings.ToLower(strings.TrimSpace(username))
	ip := s.remoteIP()
	lim := s.srv.cfg.Limiter
	if !lim.Allow(email, ip) {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable,
			Text: "Too many failed logins, try again later"}
	}
	st, err := s.srv.cfg.Store.StaffByEmail(s.ctx, email)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return s.internal("login", err)
	}
	if !s.srv.auth.ok(email, st.PasswordHash, password) {
		if auth.Check(st.PasswordHash, password) != nil {
			lim.Fail(email, ip)
			return imapserver.ErrAuthFailed
		}
		s.srv.auth.add(email, st.PasswordHash, password)
	}
	lim.Succeed(email)
	c, err := s.srv.cfg.Store.Company(s.ctx, st.CompanyID)
	if err != nil {
		return s.internal("login: company", err)
	}
	s.staff, s.company = st, c
	s.log = s.srv.log.With("remote", s.remoteIP(), "company", c.ID, "staff", st.ID)
	if _, err := s.mailboxes(); err != nil {
		return s.internal("login: mailboxes", err)
	}
	return nil
}

// AppendLimit is the largest message APPEND takes.
func (s *session) AppendLimit() uint32 { return s.srv.cfg.AppendLimit }

// Namespace: one personal namespace, "/" as the hierarchy delimiter.
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Delim: delim}}}, nil
}

// publish tells other sessions (and processes) that the company's mail
// changed.
func (s *session) publish() {
	if err := s.srv.cfg.Hub.Publish(s.ctx, notify.Mail, s.company.ID); err != nil {
		s.log.Warn("imap publish", "err", err)
	}
}

// internal logs err and returns the error a client sees.
func (s *session) internal(what string, err error) error {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie
	}
	if s.ctx.Err() != nil {
		return &imap.Error{Type: imap.StatusResponseTypeBye, Text: "Server shutting down"}
	}
	s.log.Error("imap "+what, "err", err)
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug,
		Text: "Internal error, try again later"}
}

func errNo(code imap.ResponseCode, text string) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
}

var (
	errReadOnly = errNo("READ-ONLY", "The mailbox is open read-only (EXAMINE)")
	errShared   = errNo(imap.ResponseCodeCannot,
		"Partner messages are records of the shared inbox: they cannot be deleted or moved out; copy them to a private folder instead")
	errNoMailbox = errNo(imap.ResponseCodeNonExistent, "No such mailbox")
)
