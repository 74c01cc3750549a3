package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestServeReloadsTemplatesOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	override := filepath.Join(dir, "acme", "campaign.txt")
	if err := os.MkdirAll(filepath.Dir(override), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(override, []byte("v1 {{.Text}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, _ := startServe(t, fmt.Sprintf("[templates]\ndir = %q\n", dir))

	os.WriteFile(override, []byte("v2 {{.Text}}\n"), 0o644)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitLog(t, stderr, "email templates reloaded")

	os.WriteFile(override, []byte("line one\n{{.Nope}}\n"), 0o644)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitLog(t, stderr, "email templates not reloaded")
	waitLog(t, stderr, "acme/campaign.txt:2") // the broken file and line are named
}
