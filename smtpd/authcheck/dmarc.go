package authcheck

import (
	"context"
	"strings"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dmarc"
)

// DMARCResult is the DMARC verdict (RFC 7489) for the RFC5322.From domain.
type DMARCResult struct {
	Result      authres.ResultValue
	FromDomain  string
	OrgDomain   string // organizational domain found by the DNS tree walk
	Policy      string // the policy that applies: none, quarantine or reject ("" without a record)
	Percent     int    // pct=, 100 if absent
	SPFAligned  bool
	DKIMAligned bool
	Reason      string
}

// maxTreeWalk bounds the _dmarc lookups of one message (DMARCbis section
// 4.10 limits the walk to 8 labels).
const maxTreeWalk = 8

type dmarcRecord struct {
	domain string
	rec    *dmarc.Record
	psd    string // "y", "n" or ""
}

// evalDMARC evaluates DMARC. The policy record and the organizational
// domain come from a DNS tree walk (as DMARCbis replaces the Public Suffix
// List with): _dmarc is queried at the From domain and each parent; the
// first record found is the policy; the organizational domain is the
// domain of a psd=n record, the child of a psd=y record, or else the
// shortest domain holding a record (the From domain if none).
func (c *Checker) evalDMARC(ctx context.Context, h mail.Header, spfRes SPFResult, dkimRes []DKIMResult) DMARCResult {
	from, reason := fromDomain(h)
	r := DMARCResult{FromDomain: from, Percent: 100}
	if from == "" {
		r.Result, r.Reason = authres.ResultPermError, reason
		return r
	}
	recs, temp := c.treeWalk(ctx, from)
	if temp {
		r.Result, r.Reason = authres.ResultTempError, "DNS lookup of the DMARC record failed"
		return r
	}
	if len(recs) == 0 {
		r.Result, r.OrgDomain = authres.ResultNone, from
		return r
	}
	r.OrgDomain = orgDomain(from, recs)
	pol := recs[0]
	r.Policy = string(pol.rec.Policy)
	if pol.domain != from && pol.rec.SubdomainPolicy != "" {
		r.Policy = string(pol.rec.SubdomainPolicy)
	}
	if pol.rec.Percent != nil {
		r.Percent = *pol.rec.Percent
	}
	if spfRes.Result == authres.ResultPass {
		r.SPFAligned = aligned(spfRes.Domain, from, r.OrgDomain, pol.rec.SPFAlignment)
	}
	for _, d := range dkimRes {
		if d.Result == authres.ResultPass && aligned(d.Domain, from, r.OrgDomain, pol.rec.DKIMAlignment) {
			r.DKIMAligned = true
		}
	}
	if r.SPFAligned || r.DKIMAligned {
		r.Result = authres.ResultPass
	} else {
		r.Result = authres.ResultFail
		r.Reason = "neither SPF nor DKIM passed aligned with the From domain"
	}
	return r
}

// aligned reports identifier alignment (RFC 7489 section 3.1). Relaxed
// alignment holds when id is the organizational domain or below it.
func aligned(id, from, org string, mode dmarc.AlignmentMode) bool {
	id = normDomain(id)
	if id == "" {
		return false
	}
	if mode == dmarc.AlignmentStrict {
		return id == from
	}
	return id == org || strings.HasSuffix(id, "."+org)
}

func (c *Checker) treeWalk(ctx context.Context, from string) (recs []dmarcRecord, temp bool) {
	labels := strings.Split(from, ".")
	for i := 0; i < len(labels); i++ {
		if i > 0 && len(labels)-i > maxTreeWalk-1 {
			i = len(labels) - (maxTreeWalk - 1) // skip straight to the 7 rightmost labels
		}
		d := strings.Join(labels[i:], ".")
		txts, err := c.cfg.Resolver.LookupTXT(ctx, "_dmarc."+d)
		if notFound, isTemp := dnsError(err); isTemp {
			return nil, true
		} else if notFound {
			continue
		}
		for _, txt := range txts {
			if !strings.HasPrefix(strings.TrimSpace(txt), "v=DMARC1") {
				continue
			}
			rec, err := dmarc.Parse(txt)
			if err != nil {
				continue // an invalid record counts as none (RFC 7489 section 6.6.3)
			}
			recs = append(recs, dmarcRecord{domain: d, rec: rec, psd: psdTag(txt)})
			break
		}
	}
	return recs, false
}

// orgDomain applies DMARCbis section 4.10.2 to the records of the walk,
// which are ordered from the From domain up.
func orgDomain(from string, recs []dmarcRecord) string {
	for _, r := range recs {
		switch r.psd {
		case "n":
			return r.domain
		case "y":
			if r.domain == from {
				return from
			}
			labels := strings.Split(from, ".")
			n := len(strings.Split(r.domain, ".")) + 1
			return strings.Join(labels[len(labels)-n:], ".")
		}
	}
	return recs[len(recs)-1].domain
}

func psdTag(txt string) string {
	for _, kv := range strings.Split(txt, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "psd") {
			return strings.ToLower(strings.TrimSpace(v))
		}
	}
	return ""
}

// fromDomain returns the one RFC5322.From domain, or a reason why there
// is none (RFC 7489 section 6.6.1).
func fromDomain(h mail.Header) (string, string) {
	values := h.Values("From")
	if len(values) != 1 {
		return "", "the message needs exactly one From field"
	}
	addrs, err := h.AddressList("From")
	var domains []string
	if err == nil {
		for _, a := range addrs {
			if d := domainOf(a.Address); d != "" && !contains(domains, d) {
				domains = append(domains, d)
			}
		}
	} else if d := domainOf(strings.Trim(strings.TrimSpace(values[0]), "<>")); d != "" {
		domains = []string{strings.TrimRight(d, ">")}
	}
	switch len(domains) {
	case 0:
		return "", "the From field has no domain"
	case 1:
		return domains[0], ""
	}
	return "", "the From field names several domains"
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
