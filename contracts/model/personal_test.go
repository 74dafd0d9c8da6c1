package model_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/contracts/model"
)

// keyed is a concept with a personal and a public natural key and one
// attribute of each personal-data kind.
var keyed = attr("pnr", "type: string\nnaturalKey: true\npersonalData: identity-number\n") +
	"  staffCode:\n    type: string\n    naturalKey: true\n    label: {sv: X, en: X}\n    definition: {sv: X., en: X.}\n" +
	"  email:\n    type: string\n    naturalKey: true\n    personalData: ordinary\n    label: {sv: X, en: X}\n    definition: {sv: X., en: X.}\n" +
	"  health:\n    type: string\n    personalData: sensitive\n    label: {sv: X, en: X}\n    definition: {sv: X., en: X.}\n"

func TestAttributePersonal(t *testing.T) {
	m, err := model.Load(fstest.MapFS{"person.yaml": {Data: []byte(keyed)}})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Concept("person")
	for _, tt := range []struct {
		attr string
		want bool
	}{{"pnr", true}, {"email", true}, {"health", true}, {"staffCode", false}, {"givenName", false}, {"noSuchAttribute", false}} {
		if got := c.Attribute(tt.attr).Personal(); got != tt.want {
			t.Errorf("%s: Personal() = %v, want %v", tt.attr, got, tt.want)
		}
	}
	var names []string
	for _, a := range c.PublicNaturalKeys() {
		names = append(names, a.Name)
	}
	if got := strings.Join(names, ","); got != "staffCode" {
		t.Errorf("PublicNaturalKeys = %q, want staffCode (pnr and email are personal)", got)
	}
}

func TestStartingModelPublicNaturalKeys(t *testing.T) {
	m := contractstest.LoadDir(t, "../model")
	for id, want := range map[string]string{"person": "", "organisation": "organisationNumber"} {
		var names []string
		for _, a := range m.Concept(id).PublicNaturalKeys() {
			names = append(names, a.Name)
		}
		if got := strings.Join(names, ","); got != want {
			t.Errorf("%s: PublicNaturalKeys = %q, want %q", id, got, want)
		}
	}
}

// TestReservedConceptIDs: a concept named like one of master data's own
// routes is refused at load, naming the field (id) and the rule.
func TestReservedConceptIDs(t *testing.T) {
	for _, id := range model.ReservedConceptIDs {
		t.Run(id, func(t *testing.T) {
			text := strings.Replace(good, "id: person", "id: "+id, 1)
			_, err := model.Load(fstest.MapFS{id + ".yaml": {Data: []byte(text)}})
			var errs model.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load(%s) = %v, want model.Errors", id, err)
			}
			want := id + `.yaml:2: concept ` + id + `: id "` + id + `" is reserved: the master data API has a route of that name`
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error lacks %q:\n%v", want, err)
			}
		})
	}
}
