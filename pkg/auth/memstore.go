package auth

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a TokenStore in memory, for tests and for tools that need
// no persistence. The zero value is ready to use.
type MemoryStore struct {
	mu     sync.RWMutex
	tokens map[string]TokenRecord
	order  []string
	events []TokenEvent
}

var _ LifecycleStore = (*MemoryStore)(nil)

func (m *MemoryStore) CreateToken(_ context.Context, t TokenRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.create(t)
}

func (m *MemoryStore) create(t TokenRecord) error {
	if _, dup := m.tokens[t.ID]; dup {
		return fmt.Errorf("create token %s: id already exists", t.ID)
	}
	if m.tokens == nil {
		m.tokens = map[string]TokenRecord{}
	}
	t.Grants = slices.Clone(t.Grants)
	t.Hash = slices.Clone(t.Hash)
	m.tokens[t.ID] = t
	m.order = append(m.order, t.ID)
	return nil
}

func (m *MemoryStore) TokenByID(_ context.Context, id string) (TokenRecord, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t, ok := m.tokens[id]
	if !ok {
		return TokenRecord{}, fmt.Errorf("token %s: %w", id, ErrTokenNotFound)
	}
	return t, nil
}

func (m *MemoryStore) RevokeToken(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.revoke(id, at)
}

func (m *MemoryStore) revoke(id string, at time.Time) error {
	t, ok := m.tokens[id]
	if !ok {
		return fmt.Errorf("revoke token %s: %w", id, ErrTokenNotFound)
	}
	if t.RevokedAt.IsZero() {
		t.RevokedAt = at.UTC().Truncate(time.Millisecond)
		m.tokens[id] = t
	}
	return nil
}

func (m *MemoryStore) ListTokens(_ context.Context) ([]TokenRecord, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]TokenRecord, 0, len(m.order))
	for _, id := range m.order {
		out = append(out, m.tokens[id])
	}
	return out, nil
}

func (m *MemoryStore) IssueToken(_ context.Context, t TokenRecord, ev TokenEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.create(t); err != nil {
		return err
	}
	m.events = append(m.events, ev)
	return nil
}

func (m *MemoryStore) RotateToken(_ context.Context, oldID string, until time.Time, next TokenRecord, evs []TokenEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.tokens[oldID]
	if !ok || !old.RevokedAt.IsZero() {
		return fmt.Errorf("rotate token %s: %w", oldID, ErrTokenNotFound)
	}
	if err := m.create(next); err != nil {
		return err
	}
	until = until.UTC().Truncate(time.Millisecond)
	if old.ExpiresAt.IsZero() || until.Before(old.ExpiresAt) {
		old.ExpiresAt = until
		m.tokens[oldID] = old
	}
	m.events = append(m.events, evs...)
	return nil
}

func (m *MemoryStore) RevokeTokenFor(_ context.Context, id string, ev TokenEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.revoke(id, ev.At); err != nil {
		return err
	}
	m.events = append(m.events, ev)
	return nil
}

func (m *MemoryStore) TouchToken(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[id]
	if !ok {
		return fmt.Errorf("touch token %s: %w", id, ErrTokenNotFound)
	}
	at = at.UTC().Truncate(time.Millisecond)
	if at.After(t.LastUsedAt) {
		t.LastUsedAt = at
		m.tokens[id] = t
	}
	return nil
}

func (m *MemoryStore) TokenEvents(_ context.Context, id string) ([]TokenEvent, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []TokenEvent
	for _, e := range m.events {
		if e.TokenID == id {
			out = append(out, e)
		}
	}
	return out, nil
}
