package hubtest_test

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/hubtest"
)

// recorder is a testing.TB that keeps what Check reports instead of
// failing the test that runs it.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatal(args ...any) {
	r.Errorf("%s", fmt.Sprint(args...))
	runtime.Goexit()
}

// checkScan runs sc.Check on a recorder and returns what it reported.
func checkScan(t *testing.T, sc *hubtest.Scan) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc.Check(r)
	}()
	<-done
	return r.msgs
}

// TestScanCatchesAPlantedLeak: the scan finds a seeded value planted in a
// log line and in a request's query string, and reports each by the log
// line's message and key and by the query parameter, never by the value;
// with the leaks gone it reports nothing.
func TestScanCatchesAPlantedLeak(t *testing.T) {
	m, _ := hubtest.Model(t)
	clean, leaky := hubtest.NewScan(), hubtest.NewScan()
	pnr, _ := hubtest.Personnummer(321)
	state := map[string]any{"personalIdentityNumber": pnr, "givenNames": "Ali", "surname": "Planterad", "dateOfBirth": "1940-11-17",
		"protectedIdentity": "NONE", "registrationStatus": "REGISTERED",
		"registeredAddress": map[string]any{"streetAddress": "Läckgatan 5", "postalCode": "11122", "postTown": "Stockholm", "municipalityCode": "0180"}}
	for _, sc := range []*hubtest.Scan{clean, leaky} {
		sc.Seeded(t, m, "person", state)
		h := hubtest.Start(t, hubtest.WithScan(sc), hubtest.WithMasterdata())
		steward := hubtest.Issue(t, h.Masterdata.Tokens(), "greta", auth.KindUser, auth.Grant{Role: auth.RoleSteward, Concepts: []string{"person"}})
		if r := hubtest.Call(t, "POST", h.MasterdataURL+"/api/v1/search/person", steward, map[string]any{"q": "Planterad"}); r.Status != http.StatusOK {
			t.Fatalf("search: %d %s", r.Status, r.Raw)
		}
		// A name inside another word is no hit: "Ali" in "Alice".
		sc.Logger().Info("a clean line", "note", "Alice was here, 1940-11-170")
		if sc == leaky {
			hubtest.Call(t, "GET", h.MasterdataURL+"/api/v1/person?q=Planterad&limit=5", steward, nil)
			sc.Logger().Warn("planted leak", "component", "test", "person", map[string]any{"street": "Läckgatan 5"})
			sc.Logger().Info("planted number", "pnr10", pnr[2:8]+"-"+pnr[8:])
		}
	}
	if got := checkScan(t, clean); len(got) != 0 {
		t.Fatalf("the clean run reports %q", got)
	}
	got := strings.Join(checkScan(t, leaky), "\n")
	for _, want := range []string{`(planted leak) holds a seeded personal value under key "person.street"`,
		`(planted number) holds a seeded personal value under key "pnr10"`,
		"(GET) holds a seeded personal value in query parameter q", "3 hits"} {
		if !strings.Contains(got, want) {
			t.Errorf("the scan's report lacks %q:\n%s", want, got)
		}
	}
	for _, v := range []string{"Planterad", "Läckgatan", pnr[2:8]} {
		if strings.Contains(got, v) {
			t.Errorf("the scan's report repeats the value %q:\n%s", v, got)
		}
	}
}

func TestPersonalValues(t *testing.T) {
	m, _ := hubtest.Model(t)
	got := hubtest.PersonalValues(m.Concept("person"), map[string]any{"personalIdentityNumber": "194011170321", "givenNames": "Al",
		"surname": "Berg", "protectedIdentity": "NONE", "dateOfBirth": "1940-11-17",
		"registeredAddress": map[string]any{"streetAddress": "Läckgatan 5"}, "phoneNumbers": []any{"+46701234567"}})
	want := "194011170321,4011170321,19401117-0321,401117-0321,Berg,Läckgatan 5,+46701234567"
	if s := strings.Join(got, ","); s != want {
		t.Errorf("PersonalValues = %q, want %q", s, want)
	}
}
