package benchkit

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"
)

// Sink is a running Postfix smtp-sink: accepts every message and discards it.
type Sink struct {
	Addr string
	cmd  *exec.Cmd
}

// StartSink starts smtp-sink on a free loopback port.
func StartSink() (*Sink, error) {
	path, err := Postfix("smtp-sink")
	if err != nil {
		return nil, err
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{addr, "256"}
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "nobody"}, args...)
	}
	cmd := exec.Command(path, args...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return &Sink{Addr: addr, cmd: cmd}, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, fmt.Errorf("smtp-sink did not start")
}

// Stop ends smtp-sink.
func (s *Sink) Stop() { s.cmd.Process.Kill(); s.cmd.Wait() }

// Postfix finds one of Postfix's test programs (smtp-source, smtp-sink).
func Postfix(name string) (string, error) {
	for _, p := range []string{"/usr/sbin/" + name, "/usr/lib/postfix/sbin/" + name} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found (apt-get install postfix)", name)
}

// FreeAddr returns a loopback address with a port free at the time.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Source runs smtp-source with args (plus -m n … addr) and returns the
// rate in messages per second; any reply but 2xx fails it.
func Source(addr string, n int, args ...string) (float64, error) {
	path, err := Postfix("smtp-source")
	if err != nil {
		return 0, err
	}
	start := time.Now()
	out, err := exec.Command(path, append(append(args, "-m", fmt.Sprint(n)), addr)...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("smtp-source: %w: %s", err, out)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
