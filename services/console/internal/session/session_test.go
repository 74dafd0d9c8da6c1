package session_test

import (
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/session"
)

func TestSessionsExpireWhenIdle(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	st := session.NewStore(10*time.Minute, func() time.Time { return now })
	p := &auth.Principal{Subject: "anna"}
	a, err := st.Create("snv_a_b", p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := st.Create("snv_c_d", p)
	if a.ID == b.ID || a.CSRF == b.CSRF || a.ID == a.CSRF || len(a.ID) < 40 {
		t.Fatalf("ids must be random, distinct and long: %q %q %q", a.ID, b.ID, a.CSRF)
	}
	now = now.Add(9 * time.Minute)
	if got, ok := st.Get(a.ID); !ok || got.Token != "snv_a_b" || got.Principal != p {
		t.Fatal("a session used within the idle time must live")
	}
	now = now.Add(9 * time.Minute) // a was used 9 minutes ago, b 18
	if _, ok := st.Get(a.ID); !ok {
		t.Fatal("use must extend a session")
	}
	if _, ok := st.Get(b.ID); ok {
		t.Fatal("an idle session must expire")
	}
	st.Delete(a.ID)
	if _, ok := st.Get(a.ID); ok || st.Len() != 0 {
		t.Fatal("a deleted session must be gone")
	}
	if _, ok := st.Get("unknown"); ok {
		t.Fatal("an unknown id has no session")
	}
}
