package masterdata_test

import (
	"fmt"
	"testing"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/poll"
	"github.com/samnav/samnav/services/hubtest"
)

// TestEndToEndLogsAndURLsHoldNoPersonalData: master data run with debug
// logging through every read and write path of persons (publish, create,
// get, list, search, natural-key lookup, history, read log, a refused
// write) and the relay to Kafka: no seeded personnummer, name, address or
// contact is in any log line or request line.
func TestEndToEndLogsAndURLsHoldNoPersonalData(t *testing.T) {
	m, err := contracts.Model()
	if err != nil {
		t.Fatal(err)
	}
	sc := hubtest.NewScan()
	h, a, ctx := startWithStateTopic(t, "person", hubtest.WithScan(sc))
	fb := a.publisher("folkbokforing")
	steward := a.token("greta", auth.Grant{Role: auth.RoleSteward, Concepts: []string{"person"}, ProtectedIdentities: true})
	auditor := a.token("ivar", auth.Grant{Role: auth.RoleAuditor})

	surnames := []string{"Lindqvist", "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Svensson"}
	var states []map[string]any
	for i := range 20 {
		pnr, _ := hubtest.Personnummer(4000 + 37*i)
		p := person(pnr, surnames[i%len(surnames)]+fmt.Sprintf("-Ek%c", 'a'+rune(i)))
		p["givenNames"] = []string{"Elsa Maria", "Hugo", "Astrid", "Sixten Olof"}[i%4]
		p["registeredAddress"] = map[string]any{"streetAddress": fmt.Sprintf("Fridhemsgatan %d", 10+i), "postalCode": "11240", "postTown": "Stockholm", "municipalityCode": "0180"}
		p["emailAddress"] = fmt.Sprintf("boende%02d@example.se", i)
		states = append(states, p)
		sc.Seeded(t, m, "person", p)
	}
	ids := h.Publish(fb, "person", states[:19]...)
	created := a.do("POST", "/api/v1/person", fb, states[19], "Samnav-Reason", "flyttat in")
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	ids = append(ids, created.body["id"].(string))

	moved := states[3]
	moved["registeredAddress"] = map[string]any{"streetAddress": "Sankt Eriksgatan 88", "postalCode": "11362", "postTown": "Stockholm", "municipalityCode": "0180"}
	sc.Seeded(t, m, "person", moved)
	h.Publish(fb, "person", moved)
	bad := person("198507099806", "Felnummer-Ekström") // a wrong check digit: refused
	sc.Seeded(t, m, "person", bad)
	if r := a.do("POST", "/api/v1/publish/person", fb, map[string]any{"items": []any{map[string]any{"op": "upsert", "state": bad}}}); r.status != 400 {
		t.Fatalf("a bad personnummer: %d %s, want 400", r.status, r.raw)
	}

	for _, rd := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/person?limit=50", nil},
		{"POST", "/api/v1/search/person", map[string]any{"q": "Andersson-Ekb"}},
		{"POST", "/api/v1/search/person", map[string]any{"filter": map[string]any{"surname": "Karlsson-Ekd"}}},
		{"POST", "/api/v1/lookup/person", map[string]any{"attribute": "personalIdentityNumber", "value": states[5]["personalIdentityNumber"]}},
		{"GET", "/api/v1/person/" + ids[3], nil},
		{"GET", "/api/v1/person/" + ids[3] + "/history", nil},
	} {
		if r := a.do(rd.method, rd.path, steward, rd.body, "Samnav-Reason", "granskning"); r.status != 200 {
			t.Fatalf("%s %s: %d %s", rd.method, rd.path, r.status, r.raw)
		}
	}
	if r := a.do("GET", "/api/v1/person/"+ids[3]+"/reads", auditor, nil); r.status != 200 {
		t.Fatalf("the read log: %d %s", r.status, r.raw)
	}
	poll.Until(ctx, t, "the relay publishes every change", func() error {
		lag, err := a.srv.Relay().Lag(ctx)
		if err == nil && lag != 0 {
			err = fmt.Errorf("lag %d", lag)
		}
		return err
	})
	sc.Check(t)
}
