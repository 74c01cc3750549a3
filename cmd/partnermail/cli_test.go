package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/partnermail/partnermail/internal/testenv"
)

// env is one isolated configuration for CLI runs.
type env struct {
	t   *testing.T
	cfg string // path of the config file
	dir string
}

// newEnv writes a config for the driver: SQLite in a temp folder, or a
// fresh PostgreSQL schema dropped after the test.
func newEnv(t *testing.T, driver string) *env {
	t.Helper()
	dir := t.TempDir()
	conf := fmt.Sprintf("[storage]\ndriver = %q\ndata_dir = %q\n", driver, dir)
	if driver == "postgres" {
		conf += fmt.Sprintf("dsn = %q\n", pgSchema(t))
	}
	conf += "[tokens]\nkeys = [ { id = 1, secret = \"0123456789abcdef0123456789abcdef\" } ]\n"
	p := filepath.Join(dir, "partnermail.toml")
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, cfg: p, dir: dir}
}

func pgSchema(t *testing.T) string {
	dsn := testenv.PostgresDSN(t)
	b := make([]byte, 6)
	rand.Read(b)
	name := "cli_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", dsn)
		if err == nil {
			db.Exec("DROP SCHEMA " + name + " CASCADE")
			db.Close()
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// run runs one command line with stdin and returns stdout, stderr, code.
func (e *env) run(stdin string, args ...string) (string, string, int) {
	e.t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"--config", e.cfg}, args...), strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// ok runs a command that must succeed and returns its stdout.
func (e *env) ok(stdin string, args ...string) string {
	e.t.Helper()
	out, errs, code := e.run(stdin, args...)
	if code != 0 {
		e.t.Fatalf("partnermail %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

// fails runs a command that must fail with one line containing want.
func (e *env) fails(want string, stdin string, args ...string) {
	e.t.Helper()
	_, errs, code := e.run(stdin, args...)
	if code == 0 {
		e.t.Fatalf("partnermail %s succeeded, want error %q", strings.Join(args, " "), want)
	}
	if !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
		e.t.Errorf("partnermail %s: stderr %q, want one line containing %q", strings.Join(args, " "), errs, want)
	}
}

func (e *env) file(name, content string) string {
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

const header = "team,group,manager,status,member_email,member_name,email_notifications\n"

func TestCLIFlow(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, driver)
			e.ok("", "migrate")
			e.ok("", "company", "add", "--slug", "acme", "--name", "Acme", "--domain", "partners.acme.example")
			e.ok("", "company", "add", "--slug", "globex", "--name", "Globex", "--domain", "partners.globex.example")
			e.ok("long-password-1\n", "staff", "add", "--company", "acme", "--email", "pm@acme.example", "--name", "Pat Manager")
			e.ok("", "group", "add", "--company", "acme", "--name", "Resellers")
			e.ok("", "group", "add", "--company", "acme", "--name", "Affiliates")
			csv := e.file("p.csv", header+
				"Northwind,Resellers,pm@acme.example,approved,ana@northwind.example,Ana,true\n"+
				"Northwind,Resellers,pm@acme.example,approved,bo@northwind.example,Bo,false\n"+
				"Fabrikam,Affiliates,,pending,di@fabrikam.example,Di,yes\n")
			out := e.ok("", "partner", "import", "--company", "acme", csv)
			if !strings.Contains(out, "teams 2 created") || !strings.Contains(out, "members 3 created") {
				t.Errorf("import output %q, want 2 teams and 3 members created", out)
			}
			out = e.ok("", "partner", "import", "--company", "acme", csv)
			if !strings.Contains(out, "teams 0 created") || !strings.Contains(out, "members 0 created") {
				t.Errorf("re-import output %q, want nothing created", out)
			}
			out = e.ok("", "--json", "partner", "list", "--company", "acme", "--status", "pending")
			var teams []struct{ Name, GroupName string }
			if err := json.Unmarshal([]byte(out), &teams); err != nil || len(teams) != 1 || teams[0].Name != "Fabrikam" {
				t.Errorf("partner list --status pending = %s (%v), want Fabrikam only", out, err)
			}
			e.ok("", "partner", "set", "--company", "acme", "--team", "Fabrikam", "--group", "Resellers", "--status", "approved", "--manager", "pm@acme.example")
			out = e.ok("", "partner", "list", "--company", "acme", "--group", "Resellers", "--manager", "pm@acme.example")
			if !strings.Contains(out, "Fabrikam") || !strings.Contains(out, "Northwind") {
				t.Errorf("partner list --group Resellers = %q, want both teams", out)
			}
			e.ok("", "partner", "set", "--company", "acme", "--member", "di@fabrikam.example", "--notifications", "off")
			e.ok("", "group", "disable", "--company", "acme", "--group", "Affiliates", "--message", "Write to support@acme.example")
			out = e.ok("", "--json", "group", "list", "--company", "acme")
			if !strings.Contains(out, `"MessagesEnabled": false`) || !strings.Contains(out, "support@acme.example") {
				t.Errorf("group list after disable = %s", out)
			}
			e.ok("", "group", "enable", "--company", "acme", "--group", "Affiliates")
			e.ok("other-password-2\n", "staff", "passwd", "--company", "acme", "--email", "pm@acme.example")
			if out := e.ok("", "staff", "list", "--company", "acme"); !strings.Contains(out, "pm@acme.example") {
				t.Errorf("staff list = %q", out)
			}
			// Company isolation: globex does not see acme's partners.
			if out := e.ok("", "partner", "list", "--company", "globex"); strings.Contains(out, "Northwind") {
				t.Errorf("globex sees acme's teams: %q", out)
			}

			// Bad input: one line, non-zero exit, nothing written.
			e.fails(`company nope: not found`, "", "partner", "list", "--company", "nope")
			e.fails(`group "Nope"`, "", "group", "disable", "--company", "acme", "--group", "Nope", "--message", "x")
			e.fails(`team "Nope"`, "", "partner", "set", "--company", "acme", "--team", "Nope", "--status", "declined")
			e.fails("line 1: header", "", "partner", "import", "--company", "acme", e.file("h.csv", "team,group\nA,B\n"))
			e.fails("line 3: member_email", "", "partner", "import", "--company", "acme", e.file("e.csv", header+"T1,Resellers,,approved,x@t1.example,X,true\nT1,Resellers,,approved,not-an-email,Y,true\n"))
			e.fails(`line 2: status "maybe"`, "", "partner", "import", "--company", "acme", e.file("s.csv", header+"T2,Resellers,,maybe,y@t2.example,Y,true\n"))
			e.fails("line 3: member z@t3.example already on line 2", "", "partner", "import", "--company", "acme", e.file("d.csv", header+"T3,Resellers,,approved,z@t3.example,Z,true\nT3,Resellers,,approved,Z@t3.example,Z2,true\n"))
			e.fails(`unknown group "Ghost"`, "", "partner", "import", "--company", "acme", e.file("g.csv", header+"T4,Resellers,,approved,q@t4.example,Q,true\nT5,Ghost,,approved,r@t5.example,R,true\n"))
			if out := e.ok("", "partner", "list", "--company", "acme"); strings.Contains(out, "T1") || strings.Contains(out, "T4") {
				t.Errorf("failed imports wrote teams: %q", out)
			}
			e.fails("no password on stdin", "", "staff", "add", "--company", "acme", "--email", "x@acme.example", "--name", "X")
			e.fails("password too short", "short\n", "staff", "add", "--company", "acme", "--email", "x@acme.example", "--name", "X")
			e.fails("already exists", "", "company", "add", "--slug", "acme", "--name", "Again", "--domain", "other.example")
		})
	}
}

func TestCLIConfigErrors(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.toml")
	os.WriteFile(typo, []byte("[storage]\ndriver = \"sqlite\"\ndata_dirr = \"x\"\n"), 0o600)
	dead := filepath.Join(dir, "dead.toml")
	os.WriteFile(dead, []byte("[storage]\ndriver = \"postgres\"\ndsn = \"postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2\"\n"), 0o600)
	ro := filepath.Join(dir, "ro")
	os.MkdirAll(ro, 0o500)
	unwritable := filepath.Join(dir, "ro.toml")
	os.WriteFile(unwritable, []byte(fmt.Sprintf("[storage]\ndata_dir = %q\n", filepath.Join(ro, "data"))), 0o600)
	tests := []struct{ name, cfg, want string }{
		{"typo", typo, "unknown key storage.data_dirr"},
		{"dsn does not answer", dead, "open postgres database"},
		{"missing file", filepath.Join(dir, "nope.toml"), "no such file"},
	}
	if os.Geteuid() != 0 { // root writes anywhere
		tests = append(tests, struct{ name, cfg, want string }{"unwritable data dir", unwritable, "data folder"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"--config", tt.cfg, "company", "list"}, strings.NewReader(""), &out, &errb)
			if code == 0 || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("company list with %s: exit %d, stderr %q, want error containing %q", tt.name, code, errb.String(), tt.want)
			}
		})
	}
}
