package smtpd

import (
	"errors"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/partnermail/partnermail/internal/auth"
	"github.com/partnermail/partnermail/storage"
)

// Replies of the submission listener that carry no detail.
var (
	subErrAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Authentication required"}
	subErrTLSRequired = &smtp.SMTPError{Code: 538, EnhancedCode: smtp.EnhancedCode{5, 7, 11},
		Message: "Encryption required: issue STARTTLS first"}
	subErrTooManyFails = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
		Message: "Too many failed logins; try again later"}
	subErrAuthTemp = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
		Message: "Temporary authentication failure; try again later"}
	subErrTemp = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "Temporary server error; try again later"}
	subErrShutdown = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2},
		Message: "Server shutting down; try again later"}
)

// subSession is one submission connection, from EHLO (or STARTTLS) on.
type subSession struct {
	s    *Submission
	conn *smtp.Conn
	peer net.Addr

	staff   *storage.Staff
	company storage.Company

	// The current transaction.
	id      string
	start   time.Time
	from    string
	utf8    bool
	rcpts   []string
	targets []subTarget
}

var (
	_ smtp.Session     = (*subSession)(nil)
	_ smtp.AuthSession = (*subSession)(nil)
)

func (s *Submission) newSession(c *smtp.Conn) (smtp.Session, error) {
	ss := &subSession{s: s, conn: c, peer: c.Conn().RemoteAddr()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, subErrShutdown
	}
	s.sessions[ss] = false
	return ss, nil
}

// subAuthAllowed reports whether AUTH may happen: over TLS always; in
// clear only in the dev mode and only from a loopback peer.
func subAuthAllowed(isTLS, insecure bool, peer net.Addr) bool {
	return isTLS || (insecure && subIsLoopback(peer))
}

func (ss *subSession) authAllowed() bool {
	_, isTLS := ss.conn.TLSConnectionState()
	return subAuthAllowed(isTLS, ss.s.cfg.InsecureAuth, ss.peer)
}

// AuthMechanisms advertises PLAIN and LOGIN where AUTH is allowed.
func (ss *subSession) AuthMechanisms() []string {
	if !ss.authAllowed() {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth starts a SASL exchange.
func (ss *subSession) Auth(mech string) (sasl.Server, error) {
	if !ss.authAllowed() {
		return nil, subErrTLSRequired
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && !strings.EqualFold(identity, user) {
				return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8},
					Message: "Authorization identity must be the login"}
			}
			return ss.login(user, pass)
		}), nil
	case sasl.Login:
		return &subLoginServer{auth: ss.login}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// login checks staff credentials with the failed-login limiter.
func (ss *subSession) login(user, pass string) error {
	ctx := ss.s.ctx
	log := ss.s.cfg.Logger
	user = strings.ToLower(strings.TrimSpace(user))
	ip := subPeerIP(ss.peer)
	lim := ss.s.cfg.Limiter
	if !lim.Allow(user, ip) {
		log.Warn("submission: login refused: rate limited", "peer", ip, "user", user)
		ss.s.cfg.Observe("login_limited")
		return subErrTooManyFails
	}
	st, err := ss.s.cfg.Store.StaffByEmail(ctx, user)
	hash := st.PasswordHash
	switch {
	case errors.Is(err, storage.ErrNotFound):
		hash = "" // auth.Check then costs the same and fails
	case err != nil:
		log.Error("submission: login: load staff", "peer", ip, "user", user, "err", err)
		return subErrAuthTemp
	}
	if err := auth.Check(hash, pass); err != nil {
		lim.Fail(user, ip)
		log.Info("submission: login failed", "peer", ip, "user", user)
		ss.s.cfg.Observe("login_failed")
		return smtp.ErrAuthFailed
	}
	co, err := ss.s.cfg.Store.Company(ctx, st.CompanyID)
	if err != nil {
		log.Error("submission: login: load company", "peer", ip, "user", user, "err", err)
		return subErrAuthTemp
	}
	lim.Succeed(user)
	ss.s.cfg.Observe("login_ok")
	ss.staff, ss.company = &st, co
	log.Info("submission: login", "peer", ip, "user", user, "company", co.Slug)
	return nil
}

// Mail starts a transaction; the envelope sender must be the
// authenticated staff member.
func (ss *subSession) Mail(from string, opts *smtp.MailOptions) error {
	if ss.staff == nil {
		return subErrAuthRequired
	}
	ss.resetTx()
	if !strings.EqualFold(strings.TrimSpace(from), ss.staff.Email) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
			Message: "MAIL FROM must be your own address <" + ss.staff.Email + ">"}
	}
	ss.id = ss.s.nextID()
	ss.start = ss.s.cfg.Now()
	ss.from = ss.staff.Email
	ss.utf8 = opts != nil && opts.UTF8
	return nil
}

// Rcpt decides one recipient now: a partner conversation of the staff
// member's company, or a refusal with the reason.
func (ss *subSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.staff == nil {
		return subErrAuthRequired
	}
	t, err := ss.classify(to)
	if err != nil {
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			ss.s.cfg.Logger.Error("submission: recipient", "id", ss.id, "rcpt", to, "err", err)
			return subErrTemp
		}
		ss.s.cfg.Logger.Info("submission: recipient refused", "id", ss.id, "rcpt", to, "code", se.Code, "reason", se.Message)
		return se
	}
	for _, have := range ss.targets {
		if have.key() == t.key() { // the same conversation twice: one message
			ss.rcpts = append(ss.rcpts, to)
			return nil
		}
	}
	ss.rcpts = append(ss.rcpts, to)
	ss.targets = append(ss.targets, t)
	return nil
}

// Reset discards the current transaction.
func (ss *subSession) Reset() { ss.resetTx() }

func (ss *subSession) resetTx() {
	ss.id, ss.from, ss.utf8, ss.rcpts, ss.targets = "", "", false, nil, nil
}

// Logout ends the session.
func (ss *subSession) Logout() error {
	ss.s.mu.Lock()
	delete(ss.s.sessions, ss)
	ss.s.mu.Unlock()
	return nil
}

// logTx writes the one line of a finished transaction.
func (ss *subSession) logTx(outcome string, size int64, err error, extra ...any) {
	ss.s.cfg.Observe(outcome)
	lvl := slog.LevelInfo
	if err != nil {
		lvl = slog.LevelWarn
	}
	args := []any{"id", ss.id, "peer", subPeerIP(ss.peer), "sender", ss.from, "recipients", ss.rcpts,
		"outcome", outcome, "size", size, "duration", ss.s.cfg.Now().Sub(ss.start)}
	if err != nil {
		args = append(args, "err", err)
	}
	ss.s.cfg.Logger.Log(ss.s.ctx, lvl, "submission: transaction", append(args, extra...)...)
}

// subLoginServer is the server side of the LOGIN mechanism
// (draft-murchison-sasl-login), which go-sasl offers only as a client.
type subLoginServer struct {
	step int
	user string
	auth func(user, pass string) error
}

func (l *subLoginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		if len(resp) > 0 { // initial response carries the user name
			l.user, l.step = string(resp), 2
			return []byte("Password:"), false, nil
		}
		l.step = 1
		return []byte("Username:"), false, nil
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.auth(l.user, string(resp))
	}
	return nil, false, &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: "Unexpected LOGIN response"}
}
