package main

import (
	"github.com/partnermail/partnermail/storage"
)

type campaignCmd struct {
	Send campaignSendCmd `cmd:"" help:"Email every member of the chosen groups (all groups by default), messaging-disabled groups included."`
}

type campaignSendCmd struct {
	Company  string   `required:"" help:"Company slug."`
	Group    []string `sep:"none" help:"Group name (repeatable); none: every group."`
	From     string   `required:"" help:"Staff email of the author."`
	Subject  string   `required:"" help:"Subject."`
	BodyFile string   `required:"" help:"File with the campaign text (UTF-8; - for stdin)." type:"path"`
}

// campaignSent is the --json output of campaign send.
type campaignSent struct {
	Queued int      `json:"queued"`
	Groups []string `json:"groups"`
}

func (c *campaignSendCmd) Run(a *app) error {
	body, err := a.readBody(c.BodyFile)
	if err != nil {
		return err
	}
	s, co, err := a.company(c.Company)
	if err != nil {
		return err
	}
	staff, err := staffOf(a, s, co, c.From)
	if err != nil {
		return err
	}
	p, closeHub, err := a.poster(s)
	if err != nil {
		return err
	}
	defer closeHub()
	n, err := p.Campaign(a.ctx, storage.Campaign{
		CompanyID: co.ID, StaffID: staff.ID, Subject: c.Subject, Body: body, Groups: c.Group,
	})
	if err != nil {
		return err
	}
	return a.done(campaignSent{Queued: n, Groups: c.Group}, "%d", n)
}
