package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console"
)

// The console is wired by hand: the services' base URLs, the hub's token
// verifier, and its handler mounted beside the APIs.
func ExampleNew() {
	tokens := &auth.Tokens{Store: &auth.MemoryStore{}} // in samnav dev: the hub's tokens
	s, err := console.New(console.Config{
		MasterdataURL: "http://127.0.0.1:8080",
		DeliveryURL:   "http://127.0.0.1:8080",
		RegistryURL:   "http://127.0.0.1:8081",
		Verifier:      tokens,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = s.Close() }()

	mux := http.NewServeMux()
	// mux.Handle("/api/", apis) and the like go beside it.
	mux.Handle("/", s.Handler())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/signin", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output: 200 text/html; charset=utf-8
}
