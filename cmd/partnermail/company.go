package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/partnermail/partnermail/storage"
)

type companyCmd struct {
	Add  companyAddCmd  `cmd:"" help:"Create a company with its inbound mail domain(s)."`
	List companyListCmd `cmd:"" help:"List companies."`
}

type companyAddCmd struct {
	Slug     string   `required:"" help:"Short name used by every other command."`
	Name     string   `required:"" help:"Display name, shown to partners."`
	Domain   []string `required:"" help:"Inbound mail domain (repeatable; the first is primary)."`
	From     string   `help:"From address of notifications (default partners@<first domain>)."`
	Partners string   `default:"partners" help:"Local part of the general partner address."`
}

func (c *companyAddCmd) Run(a *app) error {
	s, err := a.open()
	if err != nil {
		return err
	}
	from := c.From
	if from == "" {
		from = c.Partners + "@" + strings.ToLower(c.Domain[0])
	}
	if !strings.Contains(from, "@") {
		return fmt.Errorf("--from %q is not an email address", from)
	}
	co, err := s.CreateCompany(a.ctx, storage.Company{
		Slug: c.Slug, Name: c.Name, FromAddr: from, Partners: c.Partners, Domains: c.Domain,
	})
	if err != nil {
		return err
	}
	return a.done(co, "company %s created (id %d), domains %s", co.Slug, co.ID, strings.Join(co.Domains, ", "))
}

type companyListCmd struct{}

func (c *companyListCmd) Run(a *app) error {
	s, err := a.open()
	if err != nil {
		return err
	}
	cs, err := s.Companies(a.ctx)
	if err != nil {
		return err
	}
	rows := make([][]string, len(cs))
	for i, co := range cs {
		rows[i] = []string{strconv.FormatInt(co.ID, 10), co.Slug, co.Name, strings.Join(co.Domains, ","), co.FromAddr}
	}
	return a.print(cs, []string{"ID", "SLUG", "NAME", "DOMAINS", "FROM"}, rows)
}
