package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"

	"github.com/partnermail/partnermail/storage"
)

type partnerCmd struct {
	Import partnerImportCmd `cmd:"" help:"Create or update teams and members from a CSV file (all or nothing)."`
	List   partnerListCmd   `cmd:"" help:"List partner teams."`
	Set    partnerSetCmd    `cmd:"" help:"Change a team (group, manager, status) or a member (notifications)."`
}

// csvHeader is the exact header partner import expects.
var csvHeader = []string{"team", "group", "manager", "status", "member_email", "member_name", "email_notifications"}

type partnerImportCmd struct {
	Company string `required:"" help:"Company slug."`
	File    string `arg:"" help:"CSV file with header: team,group,manager,status,member_email,member_name,email_notifications." type:"existingfile"`
}

func (c *partnerImportCmd) Run(a *app) error {
	f, err := os.Open(c.File)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := parsePartnerCSV(f)
	if err != nil {
		return fmt.Errorf("%s: %w", c.File, err)
	}
	s, co, err := a.company(c.Company)
	if err != nil {
		return err
	}
	res, err := s.ImportPartners(a.ctx, co.ID, rows)
	if err != nil {
		return fmt.Errorf("%s: %w (nothing was imported)", c.File, err)
	}
	return a.done(res, "imported %d rows: teams %d created, %d updated; members %d created, %d updated",
		len(rows), res.TeamsCreated, res.TeamsUpdated, res.MembersCreated, res.MembersUpdated)
}

// parsePartnerCSV reads and checks every row; the first bad row is an
// error naming its line.
func parsePartnerCSV(r io.Reader) ([]storage.PartnerRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 0 // the header sets it; a wrong header gets our message below
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("empty file: want the header line " + strings.Join(csvHeader, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("line 1: %w", err)
	}
	for i := range head {
		head[i] = strings.TrimSpace(strings.TrimPrefix(head[i], "\ufeff"))
	}
	if strings.Join(head, ",") != strings.Join(csvHeader, ",") {
		return nil, fmt.Errorf("line 1: header is %q, want %q", strings.Join(head, ","), strings.Join(csvHeader, ","))
	}
	var rows []storage.PartnerRow
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, err // csv.ParseError names its line
		}
		row, err := partnerRow(line, rec)
		if err != nil {
			return nil, &storage.RowError{Line: line, Err: err}
		}
		if prev, ok := seen[row.MemberEmail]; ok {
			return nil, &storage.RowError{Line: line, Err: fmt.Errorf("member %s already on line %d", row.MemberEmail, prev)}
		}
		seen[row.MemberEmail] = line
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, errors.New("no rows after the header")
	}
	return rows, nil
}

func partnerRow(line int, rec []string) (storage.PartnerRow, error) {
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	row := storage.PartnerRow{
		Line: line, Team: rec[0], Group: rec[1], Manager: strings.ToLower(rec[2]),
		Status: strings.ToLower(rec[3]), MemberEmail: strings.ToLower(rec[4]), MemberName: rec[5],
	}
	if row.Team == "" || row.Group == "" {
		return row, errors.New("team and group are required")
	}
	switch row.Status {
	case "":
		row.Status = storage.StatusApproved
	case storage.StatusApproved, storage.StatusPending, storage.StatusDeclined:
	default:
		return row, fmt.Errorf("status %q: want approved, pending or declined", rec[3])
	}
	if err := checkEmail(row.MemberEmail); err != nil {
		return row, fmt.Errorf("member_email: %w", err)
	}
	if row.Manager != "" {
		if err := checkEmail(row.Manager); err != nil {
			return row, fmt.Errorf("manager: %w", err)
		}
	}
	on, err := parseBool(rec[6], true)
	if err != nil {
		return row, fmt.Errorf("email_notifications: %w", err)
	}
	row.EmailNotifications = on
	return row, nil
}

// checkEmail accepts a bare address (no display name).
func checkEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") && !strings.HasSuffix(s, ".localhost") {
		return fmt.Errorf("%q is not an email address", s)
	}
	return nil
}

func parseBool(s string, def bool) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return def, nil
	case "1", "true", "yes", "on", "y":
		return true, nil
	case "0", "false", "no", "off", "n":
		return false, nil
	}
	return false, fmt.Errorf("%q: want true or false", s)
}

type partnerListCmd struct {
	Company string `required:"" help:"Company slug."`
	Group   string `help:"Only teams of this group."`
	Status  string `help:"Only teams with this status (approved, pending, declined)." enum:",approved,pending,declined" default:""`
	Manager string `help:"Only teams managed by this staff email."`
	Members bool   `help:"List members too."`
}

func (c *partnerListCmd) Run(a *app) error {
	s, co, err := a.company(c.Company)
	if err != nil {
		return err
	}
	f := storage.TeamFilter{Status: c.Status}
	if c.Group != "" {
		g, err := s.GroupByName(a.ctx, co.ID, c.Group)
		if err != nil {
			return fmt.Errorf("group %q: %w", c.Group, err)
		}
		f.GroupID = g.ID
	}
	if c.Manager != "" {
		st, err := s.StaffByEmail(a.ctx, c.Manager)
		if err != nil || st.CompanyID != co.ID {
			return fmt.Errorf("manager %q: %w", c.Manager, storage.ErrNotFound)
		}
		f.ManagerID = st.ID
	}
	teams, err := s.Teams(a.ctx, co.ID, f)
	if err != nil {
		return err
	}
	type teamOut struct {
		storage.Team
		Members []storage.Member `json:",omitempty"`
	}
	out := make([]teamOut, len(teams))
	var rows [][]string
	for i, t := range teams {
		out[i].Team = t
		rows = append(rows, []string{t.Name, t.Slug, t.GroupName, t.ManagerEmail, t.Status})
		if c.Members {
			ms, err := s.Members(a.ctx, co.ID, t.ID)
			if err != nil {
				return err
			}
			out[i].Members = ms
			for _, m := range ms {
				rows = append(rows, []string{"  " + m.Email, m.Name, "notify=" + yesNo(m.EmailNotifications), m.BounceState, ""})
			}
		}
	}
	return a.print(out, []string{"TEAM", "SLUG", "GROUP", "MANAGER", "STATUS"}, rows)
}

type partnerSetCmd struct {
	Company       string `required:"" help:"Company slug."`
	Team          string `help:"Team name (with --group, --manager, --status)."`
	Group         string `help:"Move the team to this group."`
	Manager       string `help:"Assign this staff email as program manager ('none' to remove)."`
	Status        string `help:"Set the application status." enum:",approved,pending,declined" default:""`
	Member        string `help:"Member email (with --notifications)."`
	Notifications string `help:"Member email notifications: on or off." enum:",on,off" default:""`
}

func (c *partnerSetCmd) Run(a *app) error {
	s, co, err := a.company(c.Company)
	if err != nil {
		return err
	}
	if c.Member != "" {
		if c.Notifications == "" {
			return errors.New("--member needs --notifications on|off")
		}
		m, err := s.MemberByEmail(a.ctx, co.ID, c.Member)
		if err != nil {
			return fmt.Errorf("member %q: %w", c.Member, err)
		}
		if err := s.SetMemberNotifications(a.ctx, co.ID, m.ID, c.Notifications == "on"); err != nil {
			return err
		}
		if c.Team == "" {
			return a.done(map[string]string{"member": m.Email, "notifications": c.Notifications},
				"email notifications of %s: %s", m.Email, c.Notifications)
		}
	}
	if c.Team == "" {
		return errors.New("--team or --member is required")
	}
	t, err := s.TeamByName(a.ctx, co.ID, c.Team)
	if err != nil {
		return fmt.Errorf("team %q: %w", c.Team, err)
	}
	var u storage.TeamUpdate
	if c.Group != "" {
		g, err := s.GroupByName(a.ctx, co.ID, c.Group)
		if err != nil {
			return fmt.Errorf("group %q: %w", c.Group, err)
		}
		u.GroupID = &g.ID
	}
	if c.Manager != "" {
		var id int64
		if c.Manager != "none" {
			st, err := s.StaffByEmail(a.ctx, c.Manager)
			if err != nil || st.CompanyID != co.ID {
				return fmt.Errorf("manager %q: %w", c.Manager, storage.ErrNotFound)
			}
			id = st.ID
		}
		u.ManagerID = &id
	}
	if c.Status != "" {
		u.Status = &c.Status
	}
	if u.GroupID == nil && u.ManagerID == nil && u.Status == nil {
		return errors.New("nothing to change: give --group, --manager or --status")
	}
	t, err = s.UpdateTeam(a.ctx, co.ID, t.ID, u)
	if err != nil {
		return err
	}
	return a.done(t, "team %q: group %s, manager %s, status %s", t.Name, t.GroupName, orNone(t.ManagerEmail), t.Status)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
