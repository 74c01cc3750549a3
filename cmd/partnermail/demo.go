package main

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/partnermail/partnermail/internal/auth"
	"github.com/partnermail/partnermail/storage"
)

// The demo company's partner domain, and a partner who may write to it
// (the banner suggests mail from one to the other).
const (
	demoDomain  = "partners.demo.localhost"
	demoPartner = "ana@northwind.localhost"
)

// demo creates, once, a company to try the gateway with, and prints how.
func (g *gateway) demo() error {
	ctx, s, w := g.a.ctx, g.store, g.a.stderr
	if co, err := s.CompanyBySlug(ctx, "demo"); err == nil {
		fmt.Fprintf(w, "demo company exists (domain %s); staff login: manager@demo.localhost (password printed when it was created; reset with `partnermail staff passwd --company demo --email manager@demo.localhost`)\n", co.Domains[0])
		return nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	co, err := s.CreateCompany(ctx, storage.Company{Slug: "demo", Name: "Demo Inc.", FromAddr: "partners@" + demoDomain, Domains: []string{demoDomain}})
	if err != nil {
		return err
	}
	pw := rand.Text()[:16]
	h, err := auth.Hash(pw)
	if err != nil {
		return err
	}
	mgr, err := s.CreateStaff(ctx, co.ID, storage.Staff{Email: "manager@demo.localhost", Name: "Dana Manager", Admin: true, PasswordHash: h})
	if err != nil {
		return err
	}
	for _, name := range []string{"Resellers", "Affiliates"} {
		if _, err := s.CreateGroup(ctx, co.ID, name); err != nil {
			return err
		}
	}
	rows := []storage.PartnerRow{
		{Line: 2, Team: "Northwind", Group: "Resellers", Manager: mgr.Email, Status: storage.StatusApproved, MemberEmail: demoPartner, MemberName: "Ana North", EmailNotifications: true},
		{Line: 3, Team: "Northwind", Group: "Resellers", Manager: mgr.Email, Status: storage.StatusApproved, MemberEmail: "bo@northwind.localhost", MemberName: "Bo North", EmailNotifications: true},
		{Line: 4, Team: "Contoso", Group: "Resellers", Status: storage.StatusPending, MemberEmail: "cy@contoso.localhost", MemberName: "Cy Contoso", EmailNotifications: true},
		{Line: 5, Team: "Fabrikam", Group: "Affiliates", Status: storage.StatusDeclined, MemberEmail: "di@fabrikam.localhost", MemberName: "Di Fabrikam", EmailNotifications: true},
	}
	if _, err := s.ImportPartners(ctx, co.ID, rows); err != nil {
		return err
	}
	aff, err := s.GroupByName(ctx, co.ID, "Affiliates")
	if err != nil {
		return err
	}
	if err := s.SetGroupMessaging(ctx, co.ID, aff.ID, false, "Affiliates: please write to support@demo.localhost or open https://demo.localhost/help"); err != nil {
		return err
	}
	fmt.Fprintf(w, `demo company created:
  staff login  manager@demo.localhost  password %s
  partners     ana@ and bo@northwind.localhost (Resellers), cy@contoso.localhost (Resellers, pending),
               di@fabrikam.localhost (Affiliates: messaging disabled)
  general address partners@%s
`, pw, demoDomain)
	return nil
}
