package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnermail/partnermail/internal/testenv"
)

// startServe runs `serve` with every listener on 127.0.0.1:0 and returns
// the address of each, by name, as the banner prints them. An extraConfig
// with its own [http] table replaces the default one (TOML allows a table
// once).
func startServe(t *testing.T, extraConfig string, args ...string) (addrs map[string]string, stderr *testenv.SyncBuffer, stop func() int) {
	t.Helper()
	dir := t.TempDir()
	conf := testenv.GatewayConfig(dir, "", "", "info") + extraConfig
	if strings.Contains(extraConfig, "[http]\n") {
		conf = strings.Replace(conf, "[http]\nlisten = \"127.0.0.1:0\"\n", "", 1)
	}
	p := filepath.Join(dir, "c.toml")
	os.WriteFile(p, []byte(conf), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &testenv.SyncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"--config", p, "serve"}, args...), strings.NewReader(""), &bytes.Buffer{}, stderr)
	}()
	re := regexp.MustCompile(`(?m)^  (\S+)\s+(127\.0\.0\.1:\d+)$`)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(stderr.String(), "partnermail is running") {
			addrs = map[string]string{}
			for _, m := range re.FindAllStringSubmatch(stderr.String(), -1) {
				addrs[m[1]] = m[2]
			}
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d: %s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if addrs == nil {
		cancel()
		t.Fatalf("serve did not start: %s", stderr.String())
	}
	var once sync.Once
	code := 0
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("serve did not stop within 30s: %s", stderr.String())
			}
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return addrs, stderr, stop
}

func TestServeHealthAndShutdown(t *testing.T) {
	addrs, stderr, stop := startServe(t, "")
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get("http://" + addrs["http"] + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
	if code := stop(); code != 0 {
		t.Errorf("serve exit code after cancel = %d, want 0; log:\n%s", code, stderr.String())
	}
	if _, err := http.Get("http://" + addrs["http"] + "/healthz"); err == nil {
		t.Error("HTTP still answers after shutdown")
	}
}

func TestServeDemo(t *testing.T) {
	_, stderr, stop := startServe(t, "", "--demo")
	if !strings.Contains(stderr.String(), "manager@demo.localhost  password ") {
		t.Errorf("demo banner missing credentials:\n%s", stderr.String())
	}
	stop()
}
