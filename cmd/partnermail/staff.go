package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/partnermail/partnermail/internal/auth"
	"github.com/partnermail/partnermail/storage"
)

type staffCmd struct {
	Add    staffAddCmd    `cmd:"" help:"Add a staff login (password from stdin or a prompt)."`
	Passwd staffPasswdCmd `cmd:"" help:"Set a staff password (from stdin or a prompt)."`
	List   staffListCmd   `cmd:"" help:"List staff of a company."`
	Remove staffRemoveCmd `cmd:"" help:"Remove a staff login."`
}

type staffAddCmd struct {
	Company string `required:"" help:"Company slug."`
	Email   string `required:"" help:"Login email."`
	Name    string `required:"" help:"Display name (shown as the author to partners)."`
	Admin   bool   `help:"Administrator role."`
}

// readPassword reads a password from a terminal prompt, or the first line
// of stdin when it is not a terminal. It is never taken from argv.
func (a *app) readPassword() (string, error) {
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil && err.Error() != "EOF" {
			return "", fmt.Errorf("read password: %w", err)
		}
		return "", errors.New("no password on stdin (pipe it in, e.g. `echo \"$PW\" | partnermail staff add …`)")
	}
	return line, nil
}

func (c *staffAddCmd) Run(a *app) error {
	s, co, err := a.company(c.Company)
	if err != nil {
		return err
	}
	if !strings.Contains(c.Email, "@") {
		return fmt.Errorf("--email %q is not an email address", c.Email)
	}
	pw, err := a.readPassword()
	if err != nil {
		return err
	}
	h, err := auth.Hash(pw)
	if err != nil {
		return err
	}
	st, err := s.CreateStaff(a.ctx, co.ID, storage.Staff{Email: c.Email, Name: c.Name, Admin: c.Admin, PasswordHash: h})
	if err != nil {
		return err
	}
	st.PasswordHash = ""
	return a.done(st, "staff %s added to %s", st.Email, co.Slug)
}

type staffPasswdCmd struct {
	Company string `required:"" help:"Company slug."`
	Email   string `required:"" help:"Login email."`
}

func (c *staffPasswdCmd) Run(a *app) error {
	s, co, err := a.company(c.Company)
	if err != nil {
		return err
	}
	pw, err := a.readPassword()
	if err != nil {
		return err
	}
	h, err := auth.Hash(pw)
	if err != nil {
		return err
	}
	if err := s.SetStaffPassword(a.ctx, co.ID, c.Email, h); err != nil {
		return err
	}
	return a.done(map[string]string{"email": c.Email}, "password of %s changed", c.Email)
}

type staffListCmd struct {
	Company string `required:"" help:"Company slug."`
}

func (c *staffListCmd) Run(a *app) error {
	s, co, err := a.company(c.Company)
	if err != nil {
		return err
	}
	list, err := s.StaffList(a.ctx, co.ID)
	if err != nil {
		return err
	}
	rows := make([][]string, len(list))
	for i := range list {
		list[i].PasswordHash = ""
		role := "member"
		if list[i].Admin {
			role = "admin"
		}
		rows[i] = []string{list[i].Email, list[i].Name, role}
	}
	return a.print(list, []string{"EMAIL", "NAME", "ROLE"}, rows)
}

type staffRemoveCmd struct {
	Company string `required:"" help:"Company slug."`
	Email   string `required:"" help:"Login email."`
}

func (c *staffRemoveCmd) Run(a *app) error {
	s, co, err := a.company(c.Company)
	if err != nil {
		return err
	}
	if err := s.RemoveStaff(a.ctx, co.ID, c.Email); err != nil {
		return err
	}
	return a.done(map[string]string{"removed": c.Email}, "staff %s removed", c.Email)
}
