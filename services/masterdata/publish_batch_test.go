package masterdata_test

import (
	"testing"
)

// A publish batch is one transaction: a failing item leaves nothing of
// the batch applied, and items see the items before them.
func TestPublishBatchIsAllOrNothing(t *testing.T) {
	a := startAPI(t)
	fb := a.publisher("folkbokforing")
	pub := func(items ...any) response {
		return a.do("POST", "/api/v1/publish/person", fb, map[string]any{"items": items})
	}
	r := pub(map[string]any{"op": "upsert", "state": person("198507099805", "Andersson"), "reason": "birth"})
	if r.status != 200 {
		t.Fatalf("publish: %d %s", r.status, r.raw)
	}
	idA := r.body["results"].([]any)[0].(map[string]any)["id"].(string)

	// The second item names a record that does not exist: the first item,
	// a valid create, must not stay applied.
	r = pub(map[string]any{"op": "upsert", "state": person("198001012387", "Berg"), "reason": "moved in"},
		map[string]any{"op": "end", "id": "0190a0a0-0000-7000-8000-000000000000", "reason": "unknown"})
	if r.status != 404 {
		t.Fatalf("batch with an unknown id: %d %s", r.status, r.raw)
	}
	if g := a.do("POST", "/api/v1/lookup/person", fb, map[string]any{"attribute": "personalIdentityNumber", "value": "198001012387"}); g.status != 404 {
		t.Fatalf("an item before the failing one was applied: %d %s", g.status, g.raw)
	}
	if h := a.do("GET", "/api/v1/person/"+idA+"/history", fb, nil); len(h.body["changes"].([]any)) != 1 {
		t.Fatalf("history of A: %s", h.raw)
	}

	// Create, update and end the same record in one batch: each item sees
	// the ones before it.
	r = pub(map[string]any{"op": "upsert", "state": person("198001012387", "Berg"), "reason": "moved in"},
		map[string]any{"op": "upsert", "state": person("198001012387", "Björk"), "reason": "name change"},
		map[string]any{"op": "end", "naturalKey": map[string]any{"attribute": "personalIdentityNumber", "value": "198001012387"}, "reason": "emigrated"})
	if r.status != 200 {
		t.Fatalf("publish: %d %s", r.status, r.raw)
	}
	res := r.body["results"].([]any)
	var outcomes []string
	for _, x := range res {
		outcomes = append(outcomes, x.(map[string]any)["outcome"].(string))
	}
	id := res[0].(map[string]any)["id"]
	if len(outcomes) != 3 || outcomes[0] != "created" || outcomes[1] != "updated" || outcomes[2] != "ended" ||
		res[1].(map[string]any)["id"] != id || res[2].(map[string]any)["id"] != id || res[2].(map[string]any)["revision"] != float64(3) {
		t.Fatalf("results: %s", r.raw)
	}

	// A natural-key conflict in the last item refuses the whole batch.
	r = pub(map[string]any{"op": "upsert", "state": person("198507099805", "Carlsson"), "reason": "name change"},
		map[string]any{"op": "upsert", "id": id, "state": person("198507099805", "Berg")})
	if r.status != 409 || !hasField(r, "personalIdentityNumber", "unique") {
		t.Fatalf("duplicate natural key: %d %s", r.status, r.raw)
	}
	g := a.do("GET", "/api/v1/person/"+idA, fb, nil)
	if g.status != 200 || g.body["revision"] != float64(1) || g.body["state"].(map[string]any)["surname"] != "Andersson" {
		t.Fatalf("the first item of a refused batch was applied: %d %s", g.status, g.raw)
	}
}
