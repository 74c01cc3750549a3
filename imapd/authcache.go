package imapd

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// authCache remembers recent good logins, as Dovecot's auth_cache does:
// mail clients open several connections with the same password, and each
// bcrypt check costs tens of milliseconds. It keeps a keyed MAC of the
// password (the key never leaves memory) with the stored hash it matched,
// so a password change invalidates the entry at once.
type authCache struct {
	key []byte
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]authEntry
}

type authEntry struct {
	mac  []byte
	hash string
	exp  time.Time
}

const authCacheMax = 10000

func newAuthCache(ttl time.Duration) *authCache {
	key := make([]byte, 32)
	rand.Read(key)
	return &authCache{key: key, ttl: ttl, now: time.Now, m: make(map[string]authEntry)}
}

func (c *authCache) mac(email, password string) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(email))
	h.Write([]byte{0})
	h.Write([]byte(password))
	return h.Sum(nil)
}

// ok reports whether email logged in with password recently, against the
// same stored hash.
func (c *authCache) ok(email, hash, password string) bool {
	if c.ttl <= 0 || hash == "" {
		return false
	}
	c.mu.Lock()
	e, found := c.m[email]
	c.mu.Unlock()
	return found && e.hash == hash && c.now().Before(e.exp) && hmac.Equal(e.mac, c.mac(email, password))
}

// add remembers a good login.
func (c *authCache) add(email, hash, password string) {
	if c.ttl <= 0 {
		return
	}
	e := authEntry{mac: c.mac(email, password), hash: hash, exp: c.now().Add(c.ttl)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= authCacheMax {
		now := c.now()
		for k, v := range c.m {
			if now.After(v.exp) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= authCacheMax {
			c.m = make(map[string]authEntry)
		}
	}
	c.m[email] = e
}
