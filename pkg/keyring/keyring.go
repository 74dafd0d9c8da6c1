// Package keyring gives the hub's code the symmetric keys it encrypts
// data at rest with, behind one small interface: a key file in `samnav
// dev` and on a single machine, a KMS (Vault Transit, a cloud KMS) behind
// the same interface in production. It knows keys, not what they protect:
// webhook secrets are sealed with the current key today, and the erasure
// work will keep one key per person through the same interface (forget
// the key, and every copy sealed with it is unreadable).
//
// Seal and Open encrypt with AES-256-GCM and name the key by id beside the
// ciphertext, so a key can be rotated (a new current key) while data
// sealed under the old one still opens.
package keyring

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
)

// KeySize is the length of every key: 32 bytes, AES-256.
const KeySize = 32

// EnvFile is the environment variable the services read the key file's
// path from (LoadFile).
const EnvFile = "SAMNAV_KEY_FILE"

// ErrUnknownKey is returned (wrapped) by Keyring.Key for an id the keyring
// does not hold: data sealed under it cannot be opened.
var ErrUnknownKey = errors.New("unknown key")

// ErrNoKey is returned (wrapped) when data must be sealed or opened and no
// keyring is configured.
var ErrNoKey = errors.New("no key configured")

// Key is one symmetric key and the id data sealed with it records.
type Key struct {
	// ID names the key: 1 to 64 of a-z, A-Z, 0-9, '-' and '_'.
	ID string
	// Bytes is the key, KeySize bytes. Never log it.
	Bytes []byte
}

// String names the key without its bytes, so a key printed by mistake
// leaks nothing.
func (k Key) String() string { return "key " + k.ID }

// Keyring is where keys come from. Implementations are safe for concurrent
// use; a key they return must not be modified.
type Keyring interface {
	// Current returns the key new data is sealed with.
	Current(ctx context.Context) (Key, error)
	// Key returns the key with the given id, or an error wrapping
	// ErrUnknownKey.
	Key(ctx context.Context, id string) (Key, error)
}

var idRule = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate reports what is wrong with k, naming the field and the rule.
func (k Key) Validate() error {
	if !idRule.MatchString(k.ID) {
		return fmt.Errorf("key id %q: must be 1 to 64 of A-Z, a-z, 0-9, '-' and '_'", k.ID)
	}
	if len(k.Bytes) != KeySize {
		return fmt.Errorf("key %s: must be %d bytes, not %d", k.ID, KeySize, len(k.Bytes))
	}
	return nil
}

// NewKey returns a random key with a random id.
func NewKey() (Key, error) {
	var id [8]byte
	b := make([]byte, KeySize)
	if _, err := rand.Read(id[:]); err != nil {
		return Key{}, fmt.Errorf("make key id: %w", err)
	}
	if _, err := rand.Read(b); err != nil {
		return Key{}, fmt.Errorf("make key: %w", err)
	}
	return Key{ID: "k" + hex.EncodeToString(id[:]), Bytes: b}, nil
}

// Memory is a Keyring of keys held in memory; the last key given is the
// current one. It is what a key file loads into, and what tests use.
type Memory struct {
	keys    map[string]Key
	current Key
}

var _ Keyring = (*Memory)(nil)

// NewMemory returns a keyring of keys (at least one, ids distinct); the
// last is current.
func NewMemory(keys ...Key) (*Memory, error) {
	if len(keys) == 0 {
		return nil, errors.New("new keyring: at least one key is required")
	}
	m := &Memory{keys: make(map[string]Key, len(keys))}
	for _, k := range keys {
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("new keyring: %w", err)
		}
		if _, dup := m.keys[k.ID]; dup {
			return nil, fmt.Errorf("new keyring: key id %s: must be unique", k.ID)
		}
		k.Bytes = append([]byte(nil), k.Bytes...)
		m.keys[k.ID] = k
		m.current = k
	}
	return m, nil
}

// Current implements Keyring.
func (m *Memory) Current(context.Context) (Key, error) { return m.current, nil }

// Key implements Keyring.
func (m *Memory) Key(_ context.Context, id string) (Key, error) {
	k, ok := m.keys[id]
	if !ok {
		return Key{}, fmt.Errorf("key %q: %w", id, ErrUnknownKey)
	}
	return k, nil
}
