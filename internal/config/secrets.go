package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Secret is a token key ready to use.
type Secret struct {
	ID       uint8
	Secret   []byte
	NotAfter time.Time
}

// devSecretFile is where dev mode keeps its generated token secret.
const devSecretFile = "token-secret"

// Secrets returns the token keys. Without any configured key it uses the
// secret kept in the data folder, generating it (mode 0600) on first use,
// so tokens in mail already sent stay valid across restarts.
func (c Config) Secrets() ([]Secret, error) {
	var out []Secret
	for _, k := range c.Tokens.Keys {
		s := []byte(k.Secret)
		if k.SecretFile != "" {
			b, err := os.ReadFile(k.SecretFile)
			if err != nil {
				return nil, fmt.Errorf("tokens key %d: %w", k.ID, err)
			}
			s = []byte(strings.TrimSpace(string(b)))
		}
		if len(s) < 16 {
			return nil, fmt.Errorf("tokens key %d: secret too short (at least 16 bytes)", k.ID)
		}
		out = append(out, Secret{ID: uint8(k.ID), Secret: s, NotAfter: k.NotAfter})
	}
	if len(out) > 0 {
		return out, nil
	}
	s, err := dataDirSecret(c.Storage.DataDir)
	if err != nil {
		return nil, err
	}
	return []Secret{{ID: 1, Secret: s}}, nil
}

func dataDirSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, devSecretFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read token secret: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	s := hex.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process won the race
		return dataDirSecret(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("create token secret: %w", err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write token secret: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write token secret: %w", err)
	}
	return []byte(s), f.Close()
}
