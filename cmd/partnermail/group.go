package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

type groupCmd struct {
	Add     groupAddCmd     `cmd:"" help:"Create a partner group (messaging on)."`
	List    groupListCmd    `cmd:"" help:"List groups and their messaging state."`
	Disable groupDisableCmd `cmd:"" help:"Turn messaging off for a group, with the text partners get instead."`
	Enable  groupEnableCmd  `cmd:"" help:"Turn messaging back on for a group."`
}

type groupAddCmd struct {
	Company string `required:"" help:"Company slug."`
	Name    string `required:"" help:"Group name."`
}

func (c *groupAddCmd) Run(a *app) error {
	s, co, err := a.company(c.Company)
	if err != nil {
		return err
	}
	g, err := s.CreateGroup(a.ctx, co.ID, c.Name)
	if err != nil {
		return err
	}
	return a.done(g, "group %q created", g.Name)
}

type groupListCmd struct {
	Company string `required:"" help:"Company slug."`
}

func (c *groupListCmd) Run(a *app) error {
	s, co, err := a.company(c.Company)
	if err != nil {
		return err
	}
	gs, err := s.Groups(a.ctx, co.ID)
	if err != nil {
		return err
	}
	rows := make([][]string, len(gs))
	for i, g := range gs {
		rows[i] = []string{g.Name, yesNo(g.MessagesEnabled), strings.ReplaceAll(g.DisabledMessage, "\n", " ")}
	}
	return a.print(gs, []string{"GROUP", "MESSAGING", "DISABLED MESSAGE"}, rows)
}

// group finds a group of a company by name.
func (a *app) group(company, name string) (*sqlstore.Store, storage.Company, storage.Group, error) {
	s, co, err := a.company(company)
	if err != nil {
		return nil, co, storage.Group{}, err
	}
	g, err := s.GroupByName(a.ctx, co.ID, name)
	if err != nil {
		return nil, co, g, fmt.Errorf("group %q: %w", name, err)
	}
	return s, co, g, nil
}

type groupDisableCmd struct {
	Company     string `required:"" help:"Company slug."`
	Group       string `required:"" help:"Group name."`
	Message     string `help:"Text partners get instead (where to reach you)." xor:"msg"`
	MessageFile string `help:"Read the text from this file." type:"existingfile" xor:"msg"`
}

func (c *groupDisableCmd) Run(a *app) error {
	text := c.Message
	if c.MessageFile != "" {
		b, err := os.ReadFile(c.MessageFile)
		if err != nil {
			return err
		}
		text = string(b)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return errors.New("--message or --message-file is required: partners must be told where to write instead")
	}
	s, co, g, err := a.group(c.Company, c.Group)
	if err != nil {
		return err
	}
	if err := s.SetGroupMessaging(a.ctx, co.ID, g.ID, false, text); err != nil {
		return err
	}
	g.MessagesEnabled, g.DisabledMessage = false, text
	return a.done(g, "messaging disabled for group %q", g.Name)
}

type groupEnableCmd struct {
	Company string `required:"" help:"Company slug."`
	Group   string `required:"" help:"Group name."`
}

func (c *groupEnableCmd) Run(a *app) error {
	s, co, g, err := a.group(c.Company, c.Group)
	if err != nil {
		return err
	}
	if err := s.SetGroupMessaging(a.ctx, co.ID, g.ID, true, g.DisabledMessage); err != nil {
		return err
	}
	g.MessagesEnabled = true
	return a.done(g, "messaging enabled for group %q", g.Name)
}
