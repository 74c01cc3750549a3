// Package auth checks staff passwords: slow hashes, and a limiter that
// slows down whoever guesses.
package auth

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Cost is the bcrypt cost of new hashes (bcrypt's default; about 0.1 s a
// check on this 2-core machine).
const Cost = bcrypt.DefaultCost

// ErrMismatch is returned by Check for a wrong password.
var ErrMismatch = errors.New("wrong email or password")

// dummy is compared against when the account does not exist, so that an
// unknown login takes as long as a wrong password. It is made on first use.
var dummy = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("partnermail-dummy"), Cost)
	return h
})

// Hash returns the slow hash of a password to store.
func Hash(password string) (string, error) {
	if len(password) < 8 {
		return "", fmt.Errorf("password too short: at least 8 characters")
	}
	if len(password) > 72 {
		return "", fmt.Errorf("password too long: at most 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), Cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// Check compares a password with a stored hash. An empty hash (unknown
// account) costs the same time and fails.
func Check(hash, password string) error {
	if hash == "" {
		bcrypt.CompareHashAndPassword(dummy(), []byte(password))
		return ErrMismatch
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return ErrMismatch
	}
	return nil
}

// Limiter counts failed logins per account and per client IP in a sliding
// window and refuses further attempts past the limit.
type Limiter struct {
	Max    int           // failures allowed in Window (default 10)
	Window time.Duration // default 15 minutes
	Now    func() time.Time

	mu    sync.Mutex
	fails map[string][]time.Time
}

func (l *Limiter) conf() (int, time.Duration, time.Time) {
	max, win, now := l.Max, l.Window, time.Now()
	if max <= 0 {
		max = 10
	}
	if win <= 0 {
		win = 15 * time.Minute
	}
	if l.Now != nil {
		now = l.Now()
	}
	return max, win, now
}

// Allow reports whether a login for account from ip may be attempted.
func (l *Limiter) Allow(account, ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	max, win, now := l.conf()
	return l.recent("a:"+account, win, now) < max && l.recent("i:"+ip, win, now) < max*5
}

// Fail records a failed login.
func (l *Limiter) Fail(account, ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, win, now := l.conf()
	if l.fails == nil {
		l.fails = make(map[string][]time.Time)
	}
	for _, k := range []string{"a:" + account, "i:" + ip} {
		l.recent(k, win, now)
		l.fails[k] = append(l.fails[k], now)
	}
	if len(l.fails) > 100000 { // bound memory under a spray of accounts
		for k, v := range l.fails {
			if len(v) == 0 || now.Sub(v[len(v)-1]) > win {
				delete(l.fails, k)
			}
		}
	}
}

// Succeed forgets the failures of an account after a good login.
func (l *Limiter) Succeed(account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, "a:"+account)
}

// recent drops failures older than the window and counts the rest.
func (l *Limiter) recent(k string, win time.Duration, now time.Time) int {
	v := l.fails[k]
	i := 0
	for i < len(v) && now.Sub(v[i]) > win {
		i++
	}
	if i > 0 {
		v = v[i:]
		if len(v) == 0 {
			delete(l.fails, k)
		} else {
			l.fails[k] = v
		}
	}
	return len(v)
}
