package records

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/console/internal/site"
)

// TestRefLabelOfAMissingRecord: a reference that names no record shows
// its short id, and one page asks the API for each record once, at most
// maxRefLookups times.
func TestRefLabelOfAMissingRecord(t *testing.T) {
	var hits atomic.Int64
	md := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		apierr.Write(w, r, apierr.NotFound("no such record"))
	}))
	t.Cleanup(md.Close)
	m := contractstest.Model(t)
	s := &pages{Site: &site.Site{API: &api.Client{MasterdataURL: md.URL}, Model: m}}
	r := &site.Request{Request: httptest.NewRequest("GET", "/", nil)}
	s.nameReferences(r)

	if got := refLabel(r, "address", "no-such-address-id"); got != "…dress-id" {
		t.Fatalf("unknown reference: %q", got)
	}
	// Bounded: one call per record, at most maxRefLookups per page.
	for i := range maxRefLookups + 5 {
		refLabel(r, "address", fmt.Sprintf("missing-%d", i))
		refLabel(r, "address", fmt.Sprintf("missing-%d", i))
	}
	if n := refs(r).calls; n != maxRefLookups {
		t.Fatalf("%d lookups, want %d", n, maxRefLookups)
	}
	if n := hits.Load(); n != maxRefLookups {
		t.Fatalf("the API was asked %d times, want %d", n, maxRefLookups)
	}
}
