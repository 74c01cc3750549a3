// Package testenv decides whether a test that needs something outside Go
// (a program such as swaks or mbsync, a PostgreSQL server) runs, skips, or
// fails: it skips with instructions on a laptop, and fails under CI=true,
// where .ci/run has installed everything.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// PostgresEnv names the variable holding the DSN of a PostgreSQL server
// the tests may use, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresEnv = "PARTNERMAIL_TEST_POSTGRES"

// InCI reports whether the tests run under CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips the test with the reason and how to enable it, or fails
// it under CI.
func Unavailable(t testing.TB, reason, enable string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s (CI=true: .ci/run must provide it; %s)", reason, enable)
	}
	t.Skipf("%s; to run this test: %s", reason, enable)
}

// NeedCommand returns the path of an outside program, or skips (fails in
// CI) when it is not installed. pkg is the Debian package providing it.
func NeedCommand(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, name+" is not installed", "apt-get install "+pkg)
	}
	return p
}

// PostgresDSN returns the DSN of the PostgreSQL server for tests, or skips
// (fails in CI) when PARTNERMAIL_TEST_POSTGRES is unset.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		Unavailable(t, PostgresEnv+" is not set",
			"export "+PostgresEnv+"=postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	return dsn
}
