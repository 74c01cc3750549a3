package authcheck

import (
	"context"
	"net"
	"strings"
	"sync"
)

// memResolver is an in-memory DNS for tests.
type memResolver struct {
	mu   sync.Mutex
	txt  map[string][]string
	ip   map[string][]net.IPAddr
	mx   map[string][]*net.MX
	ptr  map[string][]string
	temp map[string]bool // names that fail temporarily
	n    int             // lookups made
}

func newMemResolver() *memResolver {
	return &memResolver{txt: map[string][]string{}, ip: map[string][]net.IPAddr{}, mx: map[string][]*net.MX{},
		ptr: map[string][]string{}, temp: map[string]bool{}}
}

func key(name string) string { return strings.TrimSuffix(strings.ToLower(name), ".") }

func (m *memResolver) fail(name string) error {
	m.n++
	if m.temp[key(name)] {
		return &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	return nil
}

func notFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (m *memResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail(name); err != nil {
		return nil, err
	}
	if v, ok := m.txt[key(name)]; ok {
		return v, nil
	}
	return nil, notFound(name)
}

func (m *memResolver) LookupIPAddr(ctx context.Context, name string) ([]net.IPAddr, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail(name); err != nil {
		return nil, err
	}
	if v, ok := m.ip[key(name)]; ok {
		return v, nil
	}
	return nil, notFound(name)
}

func (m *memResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail(name); err != nil {
		return nil, err
	}
	if v, ok := m.mx[key(name)]; ok {
		return v, nil
	}
	return nil, notFound(name)
}

func (m *memResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail(addr); err != nil {
		return nil, err
	}
	if v, ok := m.ptr[addr]; ok {
		return v, nil
	}
	return nil, notFound(addr)
}

var _ Resolver = (*memResolver)(nil)
