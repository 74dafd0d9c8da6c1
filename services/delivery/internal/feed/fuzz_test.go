package feed_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/feed"
)

// FuzzCursor feeds arbitrary cursor strings (outside input) to both
// endpoints: the answer is 200 only for a cursor the feed issued, and
// otherwise 400 naming the cursor parameter; never a 500, never a panic.
func FuzzCursor(f *testing.F) {
	s := sub("sub-school", "school")
	fd, err := feed.New(feed.Config{Store: newSQLiteStore(f), CursorKey: key,
		Subscriptions: func(context.Context, string) (client.Subscription, bool, error) { return s, true, nil }})
	if err != nil {
		f.Fatal(err)
	}
	principal := &auth.Principal{Subject: "school", Kind: auth.KindSystem}
	serve := func(endpoint, cur string) (int, []byte) {
		r := httptest.NewRequest(http.MethodGet, "/x?"+url.Values{"cursor": {cur}}.Encode(), nil)
		r = r.WithContext(auth.WithPrincipal(r.Context(), principal))
		r.SetPathValue("subscription", "sub-school")
		w := httptest.NewRecorder()
		if endpoint == "snapshot" {
			fd.ServeSnapshot(w, r)
		} else {
			fd.ServeChanges(w, r)
		}
		return w.Code, w.Body.Bytes()
	}
	_, body := serve("snapshot", "")
	var first feed.SnapshotPage
	if err := json.Unmarshal(body, &first); err != nil {
		f.Fatal(err)
	}
	issued := map[string]bool{first.ChangesCursor: true}
	f.Add(first.ChangesCursor)
	f.Add(first.ChangesCursor[:len(first.ChangesCursor)-1])
	f.Add("eyJ2IjoxLCJrIjoiYyIsInMiOiJzdWItc2Nob29sIiwicCI6MH0.AAAAAAAAAAAAAAAAAAAAAA")
	f.Add(".")
	f.Add("")
	f.Fuzz(func(t *testing.T, cur string) {
		for _, endpoint := range []string{"snapshot", "changes"} {
			code, body := serve(endpoint, cur)
			switch code {
			case http.StatusOK:
				if cur != "" && !issued[cur] {
					t.Fatalf("%s accepted a cursor it never issued: %q", endpoint, cur)
				}
			case http.StatusBadRequest:
				var e apierr.Problem
				if err := json.Unmarshal(body, &e); err != nil || len(e.Fields) != 1 || e.Fields[0].Field != "cursor" {
					t.Fatalf("%s: 400 not naming the cursor: %s", endpoint, body)
				}
			default:
				t.Fatalf("%s: status %d for cursor %q: %s", endpoint, code, cur, body)
			}
		}
	})
}
