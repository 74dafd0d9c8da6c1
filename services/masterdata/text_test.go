package masterdata_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/hubtest"
	"github.com/samnav/samnav/services/masterdata"
)

// onBothDatabases runs test against master data on SQLite and on a
// throwaway PostgreSQL (skipped where PostgreSQL is not installed).
func onBothDatabases(t *testing.T, test func(t *testing.T, a *api)) {
	for _, db := range []struct {
		name string
		opts []hubtest.Option
	}{{"sqlite", nil}, {"postgres", []hubtest.Option{hubtest.WithPostgres()}}} {
		t.Run(db.name, func(t *testing.T) {
			opts := []hubtest.Option{hubtest.WithMasterdata(func(_ *masterdata.Config, d *masterdata.Deps) { d.Registry = &memRegistry{} })}
			test(t, apiOf(t, hubtest.Start(t, append(opts, db.opts...)...)))
		})
	}
}

// unitJSON is a valid unit whose name is the JSON string literal name, so
// that a case can send escapes (a lone surrogate) and bytes (not UTF-8)
// that no Go string marshals to.
func unitJSON(name string) json.RawMessage {
	return json.RawMessage(`{"name":` + name + `,"unitType":"PRIMARY_SCHOOL","ownerNamnd":"n-1","openingHours":[],"validFrom":"2019-08-01"}`)
}

func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestBadTextIsRefusedAlikeOnBothDatabases: text that could mislead a
// reader is refused with the same 400 naming field and rule on SQLite and
// PostgreSQL, on create, update and publish, and in a write's reason, and
// nothing is stored; text
// in NFD is stored in NFC and found by its NFD spelling.
func TestBadTextIsRefusedAlikeOnBothDatabases(t *testing.T) {
	tests := []struct {
		name, literal, rule string
	}{
		{"NUL", jsonString("Sol\x00skolan"), "control-character"},
		{"C0 SOH", jsonString("Sol\x01skolan"), "control-character"},
		{"tab", jsonString("Sol\tskolan"), "control-character"},
		{"newline", jsonString("Sol\nskolan"), "control-character"},
		{"escape", jsonString("\x1b[2JSolskolan"), "control-character"},
		{"DEL", jsonString("Sol\x7fskolan"), "control-character"},
		{"C1 NEL", jsonString("Sol\u0085skolan"), "control-character"},
		{"C1 CSI", jsonString("Sol\u009bskolan"), "control-character"},
		{"U+202A LRE", jsonString("Sol\u202askolan"), "bidi-control"},
		{"U+202B RLE", jsonString("Sol\u202bskolan"), "bidi-control"},
		{"U+202C PDF", jsonString("Sol\u202cskolan"), "bidi-control"},
		{"U+202D LRO", jsonString("Sol\u202dskolan"), "bidi-control"},
		{"U+202E RLO", jsonString("Sol\u202eskolan"), "bidi-control"},
		{"U+2066 LRI", jsonString("Sol\u2066skolan"), "bidi-control"},
		{"U+2067 RLI", jsonString("Sol\u2067skolan"), "bidi-control"},
		{"U+2068 FSI", jsonString("Sol\u2068skolan"), "bidi-control"},
		{"U+2069 PDI", jsonString("Sol\u2069skolan"), "bidi-control"},
		{"U+200E LRM", jsonString("Sol\u200eskolan"), "bidi-control"},
		{"U+200F RLM", jsonString("Sol\u200fskolan"), "bidi-control"},
		{"U+061C ALM", jsonString("Sol\u061cskolan"), "bidi-control"},
		{"lone high surrogate escape", `"Sol\ud83dskolan"`, "invalid-unicode"},
		{"lone low surrogate escape", `"Solskolan\udc00"`, "invalid-unicode"},
		{"escaped NUL", `"Sol\u0000skolan"`, "control-character"},
		{"bytes not UTF-8", "\"Sol\xffskolan\"", "invalid-unicode"},
	}
	onBothDatabases(t, func(t *testing.T, a *api) {
		st := a.steward("anna", "unit")
		pub := a.token("samnav-import", auth.Grant{Role: auth.RolePublisher, System: "samnav"}, auth.Grant{Role: auth.RoleSteward, Concepts: []string{"unit"}})
		c := a.do("POST", "/api/v1/unit", st, unit("Solskolan"))
		if c.status != 201 {
			t.Fatalf("create: %d %s", c.status, c.raw)
		}
		id := c.body["id"].(string)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				body := unitJSON(tt.literal)
				for _, w := range []struct {
					how, method, path, token, field string
					body                            any
					header                          []string
				}{
					{"create", "POST", "/api/v1/unit", st, "name", body, nil},
					{"update", "PUT", "/api/v1/unit/" + id, st, "name", body, []string{"If-Match", `"1"`}},
					{"publish", "POST", "/api/v1/publish/unit", pub, "items[0].state.name", json.RawMessage(`{"items":[{"op":"upsert","state":` + string(body) + `}]}`), nil},
					{"reason", "POST", "/api/v1/publish/unit", pub, "items[0].reason", json.RawMessage(`{"items":[{"op":"upsert","state":` + string(unitJSON(`"Månskolan"`)) + `,"reason":` + tt.literal + `}]}`), nil},
				} {
					r := a.do(w.method, w.path, w.token, w.body, w.header...)
					if r.status != 400 || errorOf(r)["code"] != "invalid" || !hasField(r, w.field, tt.rule) {
						t.Errorf("%s: %d %s, want 400 naming %s %s", w.how, r.status, r.raw, w.field, tt.rule)
					}
				}
			})
		}
		// Nothing was stored: one unit, at its first revision, with one
		// history entry.
		list := a.do("GET", "/api/v1/unit", st, nil)
		if recs, _ := list.body["records"].([]any); len(recs) != 1 {
			t.Fatalf("bad text stored records: %s", list.raw)
		}
		if g := a.do("GET", "/api/v1/unit/"+id, st, nil); g.body["revision"] != float64(1) || g.body["state"].(map[string]any)["name"] != "Solskolan" {
			t.Fatalf("bad text changed the unit: %s", g.raw)
		}
		if h := a.do("GET", "/api/v1/unit/"+id+"/history", st, nil); len(h.body["changes"].([]any)) != 1 {
			t.Fatalf("bad text left history: %s", h.raw)
		}

		// NFD in, NFC stored; the NFD spelling finds it in a filter and a search.
		nfd, nfc := "A\u030angby sko\u0308la", "\u00c5ngby sk\u00f6la"
		r := a.do("POST", "/api/v1/unit", st, unit(nfd), "Samnav-Reason", "ny sko\u0308la")
		if r.status != 201 || r.body["state"].(map[string]any)["name"] != nfc {
			t.Fatalf("NFD create: %d %s", r.status, r.raw)
		}
		nid := r.body["id"].(string)
		if g := a.do("GET", "/api/v1/unit/"+nid, st, nil); g.body["state"].(map[string]any)["name"] != nfc {
			t.Fatalf("stored name is not NFC: %q", g.body["state"].(map[string]any)["name"])
		}
		for _, q := range []string{"name=" + url.QueryEscape(nfd), "q=" + url.QueryEscape("sko\u0308la")} {
			l := a.do("GET", "/api/v1/unit?"+q, st, nil)
			if recs, _ := l.body["records"].([]any); len(recs) != 1 || recs[0].(map[string]any)["id"] != nid {
				t.Errorf("%s: %d %s, want the NFC unit", q, l.status, l.raw)
			}
		}
		if l := a.do("GET", "/api/v1/unit?name="+url.QueryEscape("Sol\x00skolan"), st, nil); l.status != 400 || !hasField(l, "name", "control-character") {
			t.Errorf("NUL in a filter: %d %s", l.status, l.raw)
		}
		if h := a.do("GET", "/api/v1/unit/"+nid+"/history", st, nil); !strings.Contains(h.raw, "ny sk\u00f6la") {
			t.Errorf("the reason is not stored in NFC: %s", h.raw)
		}
	})
}

// TestValidationMessagesDoNotEchoPersonalData seeds a personnummer and a
// name into invalid person records: the error body names the fields and
// rules, and carries neither the values nor the date of birth.
func TestValidationMessagesDoNotEchoPersonalData(t *testing.T) {
	a := startAPI(t)
	fb := a.publisher("folkbokforing")
	const pnr, name = "209912319999", "Tolvan Tolvansson"
	bad := person(pnr, "Tolvansson") // born in the future
	bad["dateOfBirth"] = pnr         // a personnummer in the date column
	bad["protectedIdentity"] = name  // a name in a code column
	bad["dateOfDeath"] = name
	for _, w := range []struct {
		path   string
		body   any
		prefix string
	}{
		{"/api/v1/person", bad, ""},
		{"/api/v1/publish/person", map[string]any{"items": []any{map[string]any{"op": "upsert", "state": bad}}}, "items[0].state."},
	} {
		r := a.do("POST", w.path, fb, w.body)
		if r.status != 400 {
			t.Fatalf("%s: %d %s", w.path, r.status, r.raw)
		}
		for _, fr := range [][2]string{{"personalIdentityNumber", "check"}, {"dateOfBirth", "format"}, {"protectedIdentity", "enum"}, {"dateOfDeath", "format"}} {
			if !hasField(r, w.prefix+fr[0], fr[1]) {
				t.Errorf("%s: %s %s not named: %s", w.path, fr[0], fr[1], r.raw)
			}
		}
		for _, leak := range []string{pnr, "2099-12-31", "20991231", name, "Tolvan "} {
			if strings.Contains(r.raw, leak) {
				t.Errorf("%s: the error body carries %q: %s", w.path, leak, r.raw)
			}
		}
	}
}
