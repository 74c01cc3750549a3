package outbound

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/templates"
	"github.com/partnermail/partnermail/threading"
)

// ComposeStore is what a TemplateComposer reads. *sqlstore.Store
// implements it.
type ComposeStore interface {
	Company(ctx context.Context, id int64) (storage.Company, error)
	StaffByID(ctx context.Context, companyID, id int64) (storage.Staff, error)
	Group(ctx context.Context, companyID, id int64) (storage.Group, error)
	Team(ctx context.Context, companyID, id int64) (storage.Team, error)
	Member(ctx context.Context, companyID, id int64) (storage.Member, error)
	Thread(ctx context.Context, companyID, id int64) (storage.Thread, error)
	Message(ctx context.Context, companyID, id int64) (storage.Message, error)
	ThreadMessages(ctx context.Context, companyID, threadID int64) ([]storage.Message, error)
	Campaign(ctx context.Context, companyID, id int64) (storage.Campaign, error)
	Blobs() storage.BlobStore
}

// ComposerConfig configures a TemplateComposer.
type ComposerConfig struct {
	Store     ComposeStore      // required
	Tokens    *threading.Tokens // required: mints the reply, campaign, bounce and unsubscribe tokens
	Templates *templates.Set    // required
	// PublicURL is the base of the https one-click unsubscribe link,
	// <PublicURL>/unsubscribe/<token> (RFC 8058). Empty: List-Unsubscribe
	// carries the mailto address only.
	PublicURL string
	Clock     func() time.Time // default time.Now; dates emails with no date of their own
	// CacheTTL is how long rows read for one email are reused for the
	// next (see DefaultComposeCacheTTL, the default); a change to a
	// company, staff name, team or group shows in emails composed after
	// it at most this late. Negative: no caching.
	CacheTTL time.Duration
}

// TemplateComposer composes notification and campaign emails from the
// stored rows and the templates. It is safe for concurrent use.
type TemplateComposer struct {
	cfg       ComposerConfig
	tpl       atomic.Pointer[templates.Set]
	companies *ttlCache[int64, storage.Company]
	staff     *ttlCache[[2]int64, string] // display name
	teams     *ttlCache[[2]int64, storage.Team]
	groups    *ttlCache[[2]int64, storage.Group]
	campaigns *ttlCache[[2]int64, storage.Campaign]
	notices   *ttlCache[[2]int64, *notice] // by staff message
}

var _ Composer = (*TemplateComposer)(nil)

// ErrNotComposable wraps the reason an email can never be composed: a row
// that names neither a message nor a campaign (storage.ErrInvalid), or one
// whose message, campaign, member or company no longer exists
// (storage.ErrNotFound). Other Compose errors are temporary.
var ErrNotComposable = errors.New("email cannot be composed")

// NewComposer returns a TemplateComposer for cfg.
func NewComposer(cfg ComposerConfig) (*TemplateComposer, error) {
	if cfg.Store == nil || cfg.Tokens == nil || cfg.Templates == nil {
		return nil, errors.New("outbound: ComposerConfig needs Store, Tokens and Templates")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	switch {
	case cfg.CacheTTL == 0:
		cfg.CacheTTL = DefaultComposeCacheTTL
	case cfg.CacheTTL < 0:
		cfg.CacheTTL = 0
	}
	ttl, clock := cfg.CacheTTL, cfg.Clock
	c := &TemplateComposer{
		cfg:       cfg,
		companies: newTTLCache[int64, storage.Company](ttl, clock),
		staff:     newTTLCache[[2]int64, string](ttl, clock),
		teams:     newTTLCache[[2]int64, storage.Team](ttl, clock),
		groups:    newTTLCache[[2]int64, storage.Group](ttl, clock),
		campaigns: newTTLCache[[2]int64, storage.Campaign](ttl, clock),
		notices:   newTTLCache[[2]int64, *notice](ttl, clock),
	}
	c.tpl.Store(cfg.Templates)
	return c, nil
}

// SetTemplates replaces the templates for the emails composed from now
// on, e.g. with a Set loaded again on SIGHUP after overrides changed.
func (c *TemplateComposer) SetTemplates(s *templates.Set) {
	if s != nil {
		c.tpl.Store(s)
	}
}

// Compose builds the email of one queued row: a notification of a staff
// message (MessageRowID) or a campaign email (CampaignID). The returned
// Email reads attachments from open blobs: call its Close when done.
func (c *TemplateComposer) Compose(ctx context.Context, e storage.OutboundEmail) (*Email, error) {
	var (
		em  *Email
		err error
	)
	switch {
	case e.MessageRowID != 0:
		em, err = c.notification(ctx, e)
	case e.CampaignID != 0:
		em, err = c.campaign(ctx, e)
	default:
		return nil, fmt.Errorf("compose email %d: %w: %w: no message and no campaign", e.ID, ErrNotComposable, storage.ErrInvalid)
	}
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			err = fmt.Errorf("%w: %w", ErrNotComposable, err)
		}
		return nil, fmt.Errorf("compose email %d: %w", e.ID, err)
	}
	return em, nil
}

// company, team and group read through the caches.
func (c *TemplateComposer) company(ctx context.Context, id int64) (storage.Company, error) {
	co, err := c.companies.get(id, func() (storage.Company, error) { return c.cfg.Store.Company(ctx, id) })
	if err != nil {
		return co, fmt.Errorf("company %d: %w", id, err)
	}
	return co, nil
}

func (c *TemplateComposer) team(ctx context.Context, companyID, id int64) (storage.Team, error) {
	t, err := c.teams.get([2]int64{companyID, id}, func() (storage.Team, error) { return c.cfg.Store.Team(ctx, companyID, id) })
	if err != nil {
		return t, fmt.Errorf("team %d: %w", id, err)
	}
	return t, nil
}

func (c *TemplateComposer) group(ctx context.Context, companyID, id int64) (storage.Group, error) {
	g, err := c.groups.get([2]int64{companyID, id}, func() (storage.Group, error) { return c.cfg.Store.Group(ctx, companyID, id) })
	if err != nil {
		return g, fmt.Errorf("group %d: %w", id, err)
	}
	return g, nil
}

// staffName is the display name of a staff member (its email when it has
// no name), the company's name when the staff member is gone.
func (c *TemplateComposer) staffName(ctx context.Context, co storage.Company, id int64) string {
	if id == 0 {
		return co.Name
	}
	name, err := c.staff.get([2]int64{co.ID, id}, func() (string, error) {
		s, err := c.cfg.Store.StaffByID(ctx, co.ID, id)
		if err != nil {
			return "", err
		}
		if s.Name != "" {
			return s.Name, nil
		}
		return s.Email, nil
	})
	if err != nil {
		return co.Name
	}
	return name
}

// head is what every email's headers are made of.
type head struct {
	row      storage.OutboundEmail
	company  storage.Company
	member   storage.Member
	fromName string
	subject  string
	date     time.Time
	replyTo  threading.Token // KindReply or KindCampaign
}

// domain is the company's primary domain, where its token addresses live.
func domain(co storage.Company) (string, error) {
	if len(co.Domains) == 0 || co.Domains[0] == "" {
		return "", fmt.Errorf("company %s has no mail domain", co.Slug)
	}
	return co.Domains[0], nil
}

// newMsg returns a message with the headers every email carries, and the
// unsubscribe data for the templates.
func (c *TemplateComposer) newMsg(h head) (*gomail.Msg, string, templates.Unsubscribe, error) {
	var unsub templates.Unsubscribe
	dom, err := domain(h.company)
	if err != nil {
		return nil, "", unsub, err
	}
	ts := c.cfg.Tokens
	ids := threading.Token{CompanyID: h.company.ID, MemberID: h.member.ID}
	bounceTok := ids
	bounceTok.Kind, bounceTok.EmailID = threading.KindBounce, h.row.ID
	bounce, err := ts.MintAddress(bounceTok, dom)
	if err != nil {
		return nil, "", unsub, err
	}
	replyTo, err := ts.MintAddress(h.replyTo, dom)
	if err != nil {
		return nil, "", unsub, err
	}
	unsubTok := ids
	unsubTok.Kind = threading.KindUnsubscribe
	tok, err := ts.Mint(unsubTok)
	if err != nil {
		return nil, "", unsub, err
	}
	unsub.Address = threading.Address(threading.KindUnsubscribe, tok, dom)
	listUnsub := "<mailto:" + unsub.Address + ">"
	if c.cfg.PublicURL != "" {
		unsub.URL = c.cfg.PublicURL + "/unsubscribe/" + tok
		listUnsub += ", <" + unsub.URL + ">"
	}

	from := h.company.FromAddr
	if from == "" {
		from = threading.Address(threading.KindPartners, h.company.Partners, dom)
	}
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	m.EnvelopeFromMailAddress(&mail.Address{Address: bounce})
	m.FromMailAddress(&mail.Address{Name: displayName(h.fromName), Address: from})
	m.ToMailAddress(&mail.Address{Name: displayName(h.member.Name), Address: h.row.Rcpt})
	m.ReplyToMailAddress(&mail.Address{Name: displayName(h.company.Name), Address: replyTo})
	m.Subject(headerText(h.subject))
	m.SetMessageIDWithValue(h.row.MessageID)
	date := h.date
	if date.IsZero() {
		date = c.cfg.Clock()
	}
	m.SetDateWithValue(date)
	m.SetGenHeader(gomail.HeaderListUnsubscribe, listUnsub)
	if unsub.URL != "" {
		m.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	}
	return m, bounce, unsub, nil
}

// setBody adds the rendered text and HTML parts.
func setBody(m *gomail.Msg, text, html string) {
	m.SetBodyString(gomail.TypeTextPlain, text)
	m.AddAlternativeString(gomail.TypeTextHTML, html)
}

// headerText makes s safe and tidy for a header: control characters (CR
// and LF above all) become spaces, and "=?" becomes "= ?" so that text
// which looks like an RFC 2047 encoded word cannot decode to line breaks
// in a reader. go-mail encodes what is left that is not printable ASCII.
func headerText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.ReplaceAll(s, "=?", "= ?")
	return strings.Join(strings.Fields(s), " ")
}

// displayName is headerText for the name of an address. net/mail writes a
// name with non-ASCII letters as a Q encoded-word and switches to base64
// for characters not allowed there, but it misses the backslash: "Zoë\"
// came out as =?utf-8?q?Zo=C3=AB\?=, which readers (go-message among them)
// reject, losing the whole To field. Such a name gets a fullwidth reverse
// solidus instead, which looks the same; ASCII names are quoted and escaped
// correctly and keep theirs.
func displayName(s string) string {
	s = headerText(s)
	nonASCII := strings.IndexFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) >= 0
	if nonASCII && strings.Contains(s, `\`) {
		s = strings.ReplaceAll(s, `\`, "\uFF3C")
	}
	return s
}

// bracket returns Message-IDs as "<a> <b>".
func bracket(ids []string) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("<" + headerText(id) + ">")
	}
	return b.String()
}
