package synthcity_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/samnav/samnav/contracts/check"
	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/tools/samnav/internal/synthcity"
)

var small = synthcity.Size{Persons: 2000, Organisations: 200, Units: 60, Employees: 300}

// TestEveryRecordValidatesAgainstTheModel keeps the generator honest: when
// the model changes, a record the hub would refuse fails here first.
func TestEveryRecordValidatesAgainstTheModel(t *testing.T) {
	m := contractstest.Model(t)
	recs := synthcity.City(1, small)
	ids := map[string]string{}
	for i, r := range recs {
		ids[r.Key] = fmt.Sprintf("id%06d", i)
	}
	counts := map[string]int{}
	for _, r := range recs {
		c := m.Concept(r.Concept)
		if c == nil {
			t.Fatalf("%s: concept %q is not in the model", r.Key, r.Concept)
		}
		resolved, err := synthcity.Resolve(r.Fields, func(ref synthcity.Ref) (string, bool) { id, ok := ids[string(ref)]; return id, ok })
		if err != nil {
			t.Fatalf("%s: %v", r.Key, err)
		}
		if errs := c.Validate(resolved); len(errs) > 0 {
			t.Fatalf("%s does not validate: %v", r.Key, errs)
		}
		counts[r.Concept]++
	}
	want := map[string]int{"person": small.Persons, "organisation": small.Organisations, "unit": small.Units, "address": small.Units, "employee": small.Employees}
	for concept, n := range want {
		if counts[concept] != n {
			t.Errorf("%d %s records, want %d", counts[concept], concept, n)
		}
	}
	if counts["namnd"] == 0 || counts["forvaltning"] != counts["namnd"] {
		t.Errorf("namnder %d, förvaltningar %d: want one förvaltning per nämnd", counts["namnd"], counts["forvaltning"])
	}
}

func TestReferencesPointBackwards(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range synthcity.City(2, small) {
		_, err := synthcity.Resolve(r.Fields, func(ref synthcity.Ref) (string, bool) { return "x", seen[string(ref)] })
		if err != nil {
			t.Fatalf("%s refers to a record not created before it: %v", r.Key, err)
		}
		seen[r.Key] = true
	}
}

func TestDeterministic(t *testing.T) {
	a, b := synthcity.City(42, small), synthcity.City(42, small)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two cities from the same seed differ")
	}
	if reflect.DeepEqual(a, synthcity.City(43, small)) {
		t.Fatal("cities from different seeds are equal")
	}
}

func TestIdentityNumbersValidAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range synthcity.City(3, synthcity.DefaultSize) {
		var n string
		var err error
		switch r.Concept {
		case "person":
			n = r.Fields["personalIdentityNumber"].(string)
			err = check.Personnummer(n)
		case "organisation":
			n = r.Fields["organisationNumber"].(string)
			err = check.Organisationsnummer(n)
		default:
			continue
		}
		if err != nil {
			t.Fatalf("%s: %s: %v", r.Key, n, err)
		}
		if seen[n] {
			t.Fatalf("%s: %s handed out twice", r.Key, n)
		}
		seen[n] = true
	}
}
