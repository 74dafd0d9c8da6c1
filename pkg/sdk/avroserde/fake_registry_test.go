package avroserde_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeRegistry is a minimal in-memory Confluent Schema Registry: the three
// endpoints serialisation uses, with the real API's status and error codes.
// It counts requests and can be told to fail or to be slow.
type fakeRegistry struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	schemas  []string                  // id-1 -> schema text
	subjects map[string]map[string]int // subject -> text -> id
	reject   map[string]bool           // subject -> answer 409 on register

	getByID   atomic.Int64
	posts     atomic.Int64
	fail5xx   atomic.Int64 // answer 503 to this many next requests
	delay     atomic.Int64 // nanoseconds to sleep per GET
	wantAuth  string       // exact Authorization header required, if set
	badAccept atomic.Int64 // requests whose Accept/Content-Type was wrong
}

func newFakeRegistry(t testing.TB) *fakeRegistry {
	t.Helper()
	f := &fakeRegistry{t: t, subjects: map[string]map[string]int{}, reject: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /schemas/ids/{id}", f.getSchema)
	mux.HandleFunc("POST /subjects/{subject}", f.lookup)
	mux.HandleFunc("POST /subjects/{subject}/versions", f.register)
	f.srv = httptest.NewServer(f.guard(mux))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeRegistry) URL() string { return f.srv.URL }

func (f *fakeRegistry) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.wantAuth != "" && r.Header.Get("Authorization") != f.wantAuth {
			writeErr(w, http.StatusUnauthorized, 40101, "unauthorized")
			return
		}
		if r.Method == http.MethodPost && r.Header.Get("Content-Type") != "application/vnd.schemaregistry.v1+json" {
			f.badAccept.Add(1)
		}
		if r.Header.Get("Accept") == "" {
			f.badAccept.Add(1)
		}
		if f.fail5xx.Load() > 0 {
			f.fail5xx.Add(-1)
			writeErr(w, http.StatusServiceUnavailable, 50003, "try later")
			return
		}
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		next.ServeHTTP(w, r)
	})
}

func writeErr(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error_code": code, "message": msg})
}

func (f *fakeRegistry) getSchema(w http.ResponseWriter, r *http.Request) {
	f.getByID.Add(1)
	if d := f.delay.Load(); d > 0 {
		time.Sleep(time.Duration(d))
	}
	id, err := strconv.Atoi(r.PathValue("id"))
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil || id < 1 || id > len(f.schemas) {
		writeErr(w, http.StatusNotFound, 40403, "Schema not found")
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"schema": f.schemas[id-1]})
}

// body counts a POST and reads the schema it carries; a body that is not
// a schema request is answered 422 and ok is false.
func (f *fakeRegistry) body(w http.ResponseWriter, r *http.Request) (text string, ok bool) {
	f.posts.Add(1)
	var req struct {
		Schema string `json:"schema"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, http.StatusUnprocessableEntity, 42201, "Invalid schema")
		return "", false
	}
	return req.Schema, true
}

func (f *fakeRegistry) lookup(w http.ResponseWriter, r *http.Request) {
	text, ok := f.body(w, r)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	versions, ok := f.subjects[r.PathValue("subject")]
	if !ok {
		writeErr(w, http.StatusNotFound, 40401, "Subject not found")
		return
	}
	id, ok := versions[text]
	if !ok {
		writeErr(w, http.StatusNotFound, 40403, "Schema not found")
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"subject": r.PathValue("subject"), "id": id, "version": 1, "schema": text})
}

func (f *fakeRegistry) register(w http.ResponseWriter, r *http.Request) {
	text, ok := f.body(w, r)
	if !ok {
		return
	}
	subject := r.PathValue("subject")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reject[subject] {
		writeErr(w, http.StatusConflict, 409, "Schema being registered is incompatible with an earlier schema")
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"id": f.add(subject, text)})
}

// add registers text under subject and returns its id; the caller holds mu
// or is the test goroutine before any request.
func (f *fakeRegistry) add(subject, text string) int {
	versions := f.subjects[subject]
	if versions == nil {
		versions = map[string]int{}
		f.subjects[subject] = versions
	}
	if id, ok := versions[text]; ok {
		return id
	}
	f.schemas = append(f.schemas, text)
	versions[text] = len(f.schemas)
	return len(f.schemas)
}

// mustAdd registers text directly, as another producer would have.
func (f *fakeRegistry) mustAdd(subject, text string) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return uint32(f.add(subject, text))
}

func (f *fakeRegistry) String() string { return fmt.Sprintf("fake registry at %s", f.srv.URL) }
