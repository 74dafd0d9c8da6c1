// Package session keeps the console's server-side sessions: a signed-in
// person's API token and principal, held in memory under a random id that
// the browser carries in a cookie. The token never reaches the browser
// again after sign-in.
package session

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/samnav/samnav/pkg/auth"
)

// Session is one signed-in person. Its fields never change after Create,
// so a *Session may be read without locks.
type Session struct {
	ID string
	// CSRF is the per-session token every POST form must carry.
	CSRF      string
	Token     string
	Principal *auth.Principal
	Created   time.Time
}

// Store keeps sessions in memory. A session not used for Idle expires.
// Safe for concurrent use.
type Store struct {
	idle time.Duration
	now  func() time.Time

	mu       sync.Mutex
	sessions map[string]*entry
}

type entry struct {
	s        *Session
	lastSeen time.Time
}

// NewStore returns a store whose sessions expire after idle without use;
// now is the clock (nil means time.Now).
func NewStore(idle time.Duration, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{idle: idle, now: now, sessions: map[string]*entry{}}
}

// RandomID returns 32 random bytes, base64url encoded.
func RandomID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Create starts a session for the principal the token stands for.
func (st *Store) Create(token string, p *auth.Principal) (*Session, error) {
	id, err := RandomID()
	if err != nil {
		return nil, err
	}
	csrf, err := RandomID()
	if err != nil {
		return nil, err
	}
	now := st.now()
	s := &Session{ID: id, CSRF: csrf, Token: token, Principal: p, Created: now}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweep(now)
	st.sessions[id] = &entry{s: s, lastSeen: now}
	return s, nil
}

// Get returns the live session with the id and marks it used; an unknown
// or idle-expired id returns false (and an expired one is removed).
func (st *Store) Get(id string) (*Session, bool) {
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	e, ok := st.sessions[id]
	if !ok {
		return nil, false
	}
	if now.Sub(e.lastSeen) > st.idle {
		delete(st.sessions, id)
		return nil, false
	}
	e.lastSeen = now
	return e.s, true
}

// Delete ends the session with the id, if there is one.
func (st *Store) Delete(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.sessions, id)
}

// Len returns how many sessions are held, expired ones included until
// they are swept.
func (st *Store) Len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.sessions)
}

// sweep drops expired sessions; called with mu held.
func (st *Store) sweep(now time.Time) {
	for id, e := range st.sessions {
		if now.Sub(e.lastSeen) > st.idle {
			delete(st.sessions, id)
		}
	}
}
