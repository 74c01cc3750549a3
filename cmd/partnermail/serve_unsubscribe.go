package main

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/threading"
)

// unsubscribeRoutes mounts the one-click unsubscribe of RFC 8058: the
// List-Unsubscribe https link of every email is <public_url>/unsubscribe/
// TOKEN. Mail providers POST "List-Unsubscribe=One-Click" to it; a person
// who opens the link in a browser gets a page with a button doing the same
// POST (a GET never changes anything: link scanners open links).
func (g *gateway) unsubscribeRoutes() {
	g.mux.HandleFunc("GET /unsubscribe/{token}", g.unsubscribePage)
	g.mux.HandleFunc("POST /unsubscribe/{token}", g.unsubscribe)
}

var unsubscribeTmpl = template.Must(template.New("unsubscribe").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Email notifications — {{.Company}}</title></head>
<body style="font-family:sans-serif;max-width:36em;margin:3em auto;padding:0 1em">
{{if .Done}}<h1>Email notifications are off</h1>
<p>{{.Email}} will no longer get email notifications of messages from {{.Company}}.</p>
{{else if .Invalid}}<h1>This link is not valid</h1>
<p>It may have been cut short, or it has expired.</p>
{{else}}<h1>Turn email notifications off?</h1>
<p>{{.Email}} gets an email for every message {{.Company}} sends to your team.</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Turn email notifications off</button></form>
{{end}}</body></html>
`))

type unsubscribeView struct {
	Company, Email string
	Done, Invalid  bool
}

// unsubscribeMember finds the member and company a token names.
func (g *gateway) unsubscribeMember(r *http.Request) (storage.Member, storage.Company, error) {
	tok, err := g.tokens.Parse(r.PathValue("token"))
	if err != nil {
		return storage.Member{}, storage.Company{}, err
	}
	if tok.Kind != threading.KindUnsubscribe {
		return storage.Member{}, storage.Company{}, threading.ErrWrongKind
	}
	co, err := g.store.Company(r.Context(), tok.CompanyID)
	if err != nil {
		return storage.Member{}, storage.Company{}, err
	}
	m, err := g.store.Member(r.Context(), tok.CompanyID, tok.MemberID)
	return m, co, err
}

func (g *gateway) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	m, co, err := g.unsubscribeMember(r)
	v := unsubscribeView{Company: co.Name, Email: m.Email}
	status := http.StatusOK
	if err != nil {
		if !g.badUnsubscribe(err) {
			http.Error(w, "temporary failure, please try again", http.StatusServiceUnavailable)
			return
		}
		v, status = unsubscribeView{Invalid: true}, http.StatusNotFound
	}
	g.unsubscribeReply(w, status, v)
}

func (g *gateway) unsubscribe(w http.ResponseWriter, r *http.Request) {
	m, co, err := g.unsubscribeMember(r)
	if err == nil {
		err = g.store.SetMemberNotifications(r.Context(), co.ID, m.ID, false)
	}
	if err != nil {
		if !g.badUnsubscribe(err) {
			g.log.Error("one-click unsubscribe", "err", err)
			http.Error(w, "temporary failure, please try again", http.StatusServiceUnavailable)
			return
		}
		g.unsubscribeReply(w, http.StatusNotFound, unsubscribeView{Invalid: true})
		return
	}
	g.log.Info("one-click unsubscribe", "company", co.Slug, "member", m.ID, "email", m.Email,
		"one_click", r.PostFormValue("List-Unsubscribe") == "One-Click")
	g.unsubscribeReply(w, http.StatusOK, unsubscribeView{Company: co.Name, Email: m.Email, Done: true})
}

// badUnsubscribe reports (and logs) a token that names nothing: forged,
// cut, of another kind, or for a member that is gone.
func (g *gateway) badUnsubscribe(err error) bool {
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, threading.ErrMalformedToken) || errors.Is(err, threading.ErrBadMAC) ||
		errors.Is(err, threading.ErrUnknownKey) || errors.Is(err, threading.ErrKeyExpired) || errors.Is(err, threading.ErrWrongKind) {
		g.log.Info("unsubscribe link refused", "err", err)
		return true
	}
	return false
}

func (g *gateway) unsubscribeReply(w http.ResponseWriter, status int, v unsubscribeView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	unsubscribeTmpl.Execute(w, v)
}
