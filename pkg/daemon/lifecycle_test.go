package daemon_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/daemon"
)

// TestLifecycle: Start binds a free port and serves, a second Start is
// refused, Shutdown drains and closes the stores once, and a Shutdown
// without Start only closes them.
func TestLifecycle(t *testing.T) {
	var closed atomic.Int32
	var prepared atomic.Int32
	newLifecycle := func() *daemon.Lifecycle {
		return daemon.NewLifecycle("test", daemon.Program{Grace: time.Second,
			Servers: []daemon.Server{{Name: "api", Addr: "127.0.0.1:0", Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, "hello")
			})}},
			Close: func() error { closed.Add(1); return nil }},
			func(context.Context) error { prepared.Add(1); return nil })
	}
	l := newLifecycle()
	if l.Addr() != "" {
		t.Fatalf("Addr before Start: %q", l.Addr())
	}
	if err := l.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "already started") {
		t.Errorf("second Start: %v", err)
	}
	resp, err := http.Get("http://" + l.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(body) != "hello" || prepared.Load() != 1 {
		t.Errorf("served %q, prepared %d times", body, prepared.Load())
	}
	if err := l.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Done():
	default:
		t.Error("Done is open after Shutdown")
	}
	if err := l.Close(); err != nil || closed.Load() != 1 {
		t.Errorf("Close after Shutdown: %v, stores closed %d times", err, closed.Load())
	}
	if err := l.Start(t.Context()); err == nil {
		t.Error("Start after Shutdown succeeded")
	}

	closed.Store(0)
	if err := newLifecycle().Close(); err != nil || closed.Load() != 1 {
		t.Errorf("Close without Start: %v, stores closed %d times", err, closed.Load())
	}
}

// TestLifecycleRunClosesWhenAStepFails: a failing step of Run (say the
// bootstrap token) leaves nothing open and serves nothing.
func TestLifecycleRunClosesWhenAStepFails(t *testing.T) {
	var closed atomic.Int32
	l := daemon.NewLifecycle("test", daemon.Program{Servers: []daemon.Server{{Name: "api", Addr: "127.0.0.1:0", Handler: http.NotFoundHandler()}},
		Close: func() error { closed.Add(1); return nil }}, nil)
	boom := errors.New("boom")
	if err := l.Run(t.Context(), func(context.Context) error { return boom }); !errors.Is(err, boom) || closed.Load() != 1 {
		t.Errorf("Run: %v, stores closed %d times", err, closed.Load())
	}
}

func TestEnvReportsEveryBadVariable(t *testing.T) {
	vars := map[string]string{"LIST": " a, ,b ", "YES": "TRUE", "NO": "maybe", "WAIT": "-90s", "LATER": "soon", "N": "0"}
	env := daemon.NewEnv(func(k string) string { return vars[k] })
	if got := env.List("LIST"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("List: %q", got)
	}
	if !env.Bool("YES") || env.Bool("UNSET") || env.Bool("NO") {
		t.Error("Bool")
	}
	if env.Duration("WAIT") != -90*time.Second || env.Duration("LATER") != 0 || env.PositiveDuration("WAIT") != 0 || env.PositiveInt("N") != 0 {
		t.Error("Duration, PositiveDuration or PositiveInt")
	}
	err := env.Err()
	for _, want := range []string{"NO: must be true or false", "LATER: must be a duration", "WAIT: must be a positive duration", "N: must be a positive whole number"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "LIST") || strings.Contains(err.Error(), "YES") {
		t.Errorf("error names a good variable: %v", err)
	}
}
