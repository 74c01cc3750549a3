package smtpd

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// session is one SMTP connection. go-smtp calls its methods from the
// connection's goroutine only.
type session struct {
	s    *Server
	conn net.Conn
	peer string
	ip   net.IP
	helo string
	busy bool // inside DATA; guarded by s.mu
	tx   *transaction
}

// transaction is one MAIL FROM … DATA exchange.
type transaction struct {
	id       string
	start    time.Time
	from     string // reverse path; "" is the null sender
	utf8     bool   // MAIL FROM had SMTPUTF8: replies may carry UTF-8
	rcpts    []*recipient
	refused  []string // "address: code reason" for the log
	outcome  string   // accepted, refused, tempfail, aborted; "" while open
	code     int
	reason   string
	size     int64
	msgID    string
	threads  []int64
	attached int
	defects  []string // tolerated MIME defects, for the log
}

var _ smtp.Session = (*session)(nil)

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	sess := &session{s: s, conn: c.Conn(), peer: c.Conn().RemoteAddr().String(), helo: c.Hostname()}
	if ta, ok := c.Conn().RemoteAddr().(*net.TCPAddr); ok {
		sess.ip = ta.IP
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "shutting down, please try again later"}
	}
	s.sessions[sess] = struct{}{}
	return sess, nil
}

// txEncoding writes transaction ids: short, lower case, log-friendly.
var txEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

func newTxID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return txEncoding.EncodeToString(b)
}

// Mail starts a transaction.
func (sess *session) Mail(from string, opts *smtp.MailOptions) error {
	sess.finish("abandoned")
	sess.tx = &transaction{id: newTxID(), start: sess.s.cfg.Clock(), from: strings.ToLower(from)}
	if opts != nil {
		sess.tx.utf8 = opts.UTF8
	}
	return nil
}

// Rcpt decides about one recipient; see rcpt.go.
func (sess *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	if sess.tx == nil {
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "MAIL first"}
	}
	rc, err := sess.rcpt(to)
	if err != nil {
		return sess.reply(err, to)
	}
	sess.tx.rcpts = append(sess.tx.rcpts, rc)
	return nil
}

// Data receives, checks and stores the message; see data.go.
func (sess *session) Data(r io.Reader) error {
	tx := sess.tx
	if tx == nil || len(tx.rcpts) == 0 { // go-smtp prevents this
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "no valid recipients"}
	}
	if !sess.s.begin(sess) {
		tx.outcome, tx.code, tx.reason = "tempfail", 421, "shutdown"
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "shutting down, please try again later"}
	}
	defer sess.s.end(sess)
	err := sess.data(r)
	if err == nil {
		tx.outcome, tx.code = "accepted", 250
		return nil
	}
	return sess.reply(err, "")
}

// Reset ends the transaction (go-smtp calls it after DATA, on RSET and
// on a new EHLO).
func (sess *session) Reset() { sess.finish("abandoned") }

// Logout ends the session.
func (sess *session) Logout() error {
	sess.finish("aborted")
	sess.s.mu.Lock()
	delete(sess.s.sessions, sess)
	sess.s.mu.Unlock()
	return nil
}

// reply is the one place errors become SMTP replies: a *refusal keeps
// its code and text, anything else is logged and becomes 451 4.3.0.
// It always returns a bare *smtp.SMTPError (go-smtp only type-asserts).
// rcpt is the recipient refused, "" for DATA.
func (sess *session) reply(err error, rcpt string) error {
	tx := sess.tx
	var r *refusal
	if !errors.As(err, &r) {
		sess.s.cfg.Logger.Error("smtp transaction failed", "id", tx.id, "peer", sess.peer, "err", err)
		t := tempFail
		t.Cause = err
		r = &t
	} else if r.Cause != nil && r.Code/100 == 4 {
		sess.s.cfg.Logger.Warn("smtp temporary failure", "id", tx.id, "peer", sess.peer, "reason", r.Reason, "err", r.Cause)
	}
	sess.s.metrics.refused(r.Reason)
	if rcpt != "" {
		tx.refused = append(tx.refused, fmt.Sprintf("%s: %d %s", rcpt, r.Code, r.Reason))
	} else {
		tx.outcome, tx.code, tx.reason = "refused", r.Code, r.Reason
		if r.Code/100 == 4 {
			tx.outcome = "tempfail"
		}
	}
	return r.smtpError(tx.utf8)
}

// finish writes the transaction's log line, once. outcome applies when
// DATA did not set one.
func (sess *session) finish(outcome string) {
	tx := sess.tx
	if tx == nil {
		return
	}
	sess.tx = nil
	if tx.outcome == "" {
		tx.outcome = outcome
		if len(tx.rcpts) == 0 && len(tx.refused) > 0 {
			tx.outcome = "refused"
		}
	}
	rcpts := make([]string, len(tx.rcpts))
	for i, rc := range tx.rcpts {
		rcpts[i] = rc.addr
	}
	level := slog.LevelInfo
	if tx.outcome == "tempfail" {
		level = slog.LevelWarn
	}
	attrs := []any{"id", tx.id, "peer", sess.peer, "helo", sess.helo, "sender", tx.from,
		"recipients", rcpts, "outcome", tx.outcome, "size", tx.size,
		"duration", sess.s.cfg.Clock().Sub(tx.start).Round(time.Microsecond)}
	if tx.code != 0 {
		attrs = append(attrs, "code", tx.code)
	}
	if tx.reason != "" {
		attrs = append(attrs, "reason", tx.reason)
	}
	if len(tx.refused) > 0 {
		attrs = append(attrs, "refused", tx.refused)
	}
	if tx.msgID != "" {
		attrs = append(attrs, "message_id", tx.msgID)
	}
	if len(tx.defects) > 0 {
		attrs = append(attrs, "defects", tx.defects)
	}
	if len(tx.threads) > 0 {
		attrs = append(attrs, "threads", tx.threads, "attachments", tx.attached)
	}
	sess.s.cfg.Logger.Log(sess.s.ctx, level, "smtp transaction", attrs...)
}
