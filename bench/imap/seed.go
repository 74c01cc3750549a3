package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/partnermail/partnermail/internal/auth"
	"github.com/partnermail/partnermail/internal/dovecot"
	"github.com/partnermail/partnermail/storage"
	"github.com/partnermail/partnermail/storage/sqlstore"
)

const (
	teams    = 100 // 10 groups of 10 teams, one member each
	password = "bench-password-1"
	reader   = "reader@bench.localhost"
	writer   = "writer@bench.localhost"
)

// message i of the load: about 2 KB of plain text, like a partner's reply.
func message(i int) []byte {
	team := i % teams
	body := strings.Repeat(fmt.Sprintf("Line %d of the answer from team %d about the partner programme.\r\n", i, team), 24)
	return []byte(fmt.Sprintf("Return-Path: <member%03d@team%03d.example>\r\n"+
		"From: Member %d <member%03d@team%03d.example>\r\nTo: partners@partners.bench.localhost\r\n"+
		"Subject: Question %d about the programme\r\nDate: %s\r\nMessage-ID: <bench-%d@team%03d.example>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s",
		team, team, team, team, team, i, time.Unix(1750000000+int64(i)*60, 0).UTC().Format(time.RFC1123Z), i, team, body))
}

// seen: a shared inbox that is kept up with — older messages read but a
// scattering (every 50th), the newest 2,000 unread.
var total int

func seen(i int) bool { return i < total-2000 && i%50 != 0 }

// group of message i; group 0 holds a tenth of the messages (the mbsync load).
func group(i int) int { return (i % teams) / 10 }

// seedGateway fills a fresh store through its own methods: the company,
// two staff logins, the groups and teams, then n messages (parallel
// Deliver calls, blobs first, as the inbound listener stores them).
func seedGateway(ctx context.Context, cfg sqlstore.Config, n int) error {
	st, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.CreateCompany(ctx, storage.Company{Slug: "bench", Name: "Bench", FromAddr: "partners@partners.bench.localhost",
		Domains: []string{"partners.bench.localhost"}})
	if err != nil {
		return err
	}
	hash, err := auth.Hash(password)
	if err != nil {
		return err
	}
	for _, e := range []string{reader, writer} {
		if _, err := st.CreateStaff(ctx, c.ID, storage.Staff{Email: e, Name: e, PasswordHash: hash}); err != nil {
			return err
		}
	}
	var rows []storage.PartnerRow
	for g := 0; g < 10; g++ {
		if _, err := st.CreateGroup(ctx, c.ID, fmt.Sprintf("G%d", g)); err != nil {
			return err
		}
	}
	for t := 0; t < teams; t++ {
		rows = append(rows, storage.PartnerRow{Line: t + 2, Team: fmt.Sprintf("Team %03d", t), Group: fmt.Sprintf("G%d", t/10),
			Status: storage.StatusApproved, MemberEmail: fmt.Sprintf("member%03d@team%03d.example", t, t),
			MemberName: fmt.Sprintf("Member %d", t), EmailNotifications: true})
	}
	if _, err := st.ImportPartners(ctx, c.ID, rows); err != nil {
		return err
	}
	tm, err := st.Teams(ctx, c.ID, storage.TeamFilter{})
	if err != nil {
		return err
	}
	teamID, memberID := map[string]int64{}, map[string]int64{}
	for _, t := range tm {
		teamID[t.Name] = t.ID
		ms, err := st.Members(ctx, c.ID, t.ID)
		if err != nil {
			return err
		}
		memberID[t.Name] = ms[0].ID
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	start := time.Now()
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := deliver(ctx, st, c.ID, teamID, memberID, i); err != nil {
					errs <- err
					return
				}
				if i > 0 && i%20000 == 0 {
					fmt.Printf("  seeded %d messages in %s\n", i, time.Since(start).Round(time.Second))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func deliver(ctx context.Context, st *sqlstore.Store, companyID int64, teamID, memberID map[string]int64, i int) error {
	raw := message(i)
	w, err := st.Blobs().Create(ctx)
	if err != nil {
		return err
	}
	if _, err := w.Write(raw); err != nil {
		return err
	}
	key, err := w.Commit(ctx)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("Team %03d", i%teams)
	_, _, err = st.Deliver(ctx, storage.Delivery{
		NewThread: storage.Thread{CompanyID: companyID, TeamID: teamID[name], Subject: fmt.Sprintf("Question %d", i)},
		Message: storage.Message{CompanyID: companyID, Direction: storage.DirectionIn, AuthorMemberID: memberID[name],
			MessageID: fmt.Sprintf("bench-%d@team%03d.example", i, i%teams), Subject: fmt.Sprintf("Question %d about the programme", i),
			FromAddr: fmt.Sprintf("member%03d@team%03d.example", i%teams, i%teams), Size: int64(len(raw)), RawKey: key,
			Text: "answer", Seen: seen(i), Date: time.Unix(1750000000+int64(i)*60, 0)},
	})
	return err
}

// seedDovecot writes the same messages into the maildir of the Dovecot
// user: INBOX with all of them, folder G0 with group 0's.
func seedDovecot(maildir string, n int) error {
	if err := dovecot.WriteMaildir(maildir, n, message, seen); err != nil {
		return err
	}
	var g0 []int
	for i := 0; i < n; i++ {
		if group(i) == 0 {
			g0 = append(g0, i)
		}
	}
	return dovecot.WriteMaildir(filepath.Join(maildir, ".G0"), len(g0), func(j int) []byte { return message(g0[j]) },
		func(j int) bool { return seen(g0[j]) })
}
