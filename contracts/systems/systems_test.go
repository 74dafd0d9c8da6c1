package systems_test

import (
	"strings"
	"testing"

	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/contracts/systems"
)

// TestEveryMasterIsListed: the model names masters by id; each must be a
// system of the catalogue, with an owner.
func TestEveryMasterIsListed(t *testing.T) {
	c := contractstest.Systems(t)
	m := contractstest.Model(t)
	if err := c.Check(m); err != nil {
		t.Fatal(err)
	}
	// The hub and the dev example subscribers (tools/samnav/examples.go).
	for _, id := range []string{systems.Hub, "skolplattform", "bibliotek", "hemtjanst"} {
		if c.System(id) == nil {
			t.Errorf("system %q is not in the catalogue", id)
		}
	}
}

func TestCheckNamesAnUnlistedMaster(t *testing.T) {
	c := contractstest.Systems(t)
	m := &model.Model{Concepts: []*model.Concept{{ID: "parkingpermit", Master: "parkering"}}}
	err := c.Check(m)
	if err == nil || !strings.Contains(err.Error(), `concept parkingpermit: master "parkering"`) {
		t.Fatalf("Check: %v, want the concept and its unlisted master named", err)
	}
}

const good = `
systems:
  - id: samnav
    name: {sv: Samnav, en: Samnav}
    owner:
      namnd: {sv: Kommunstyrelsen, en: City Executive Board}
      forvaltning: {sv: Stadsledningskontoret, en: City Executive Office}
    contact: samnav@stad.example
    description: {sv: Navet, en: The hub}
`

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error; none means valid
	}{
		{"valid", good, nil},
		{"missing english name", strings.Replace(good, "en: Samnav}", "en: ''}", 1), []string{"systems[0] (samnav).name.en: required"}},
		{"bad id", strings.Replace(good, "id: samnav", "id: Sam Nav", 1), []string{".id: must be lower-case letters"}},
		{"bad contact", strings.Replace(good, "samnav@stad.example", "call Anna", 1), []string{".contact: must be an e-mail address or an https URL"}},
		{"duplicate", good + strings.TrimPrefix(good, "\nsystems:\n"), []string{"systems[1] (samnav).id: must be unique: also systems[0]"}},
		{"unknown field", strings.Replace(good, "contact:", "colour: red\n    contact:", 1), []string{"field colour not found"}},
		{"every problem at once", strings.Replace(strings.Replace(good, "{sv: Navet, en: The hub}", "{sv: '', en: ''}", 1), "samnav@stad.example", "x", 1),
			[]string{"description.sv: required", "description.en: required", "contact: must be"}},
		{"empty", "systems: []", []string{"systems: at least one system is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := systems.Parse([]byte(tt.yaml))
			if len(tt.want) == 0 {
				if err != nil || c.System("samnav") == nil {
					t.Fatalf("Parse: %v", err)
				}
				if got := c.System("samnav").Owner.Forvaltning.In("en"); got != "City Executive Office" {
					t.Fatalf("owner in English: %q", got)
				}
				return
			}
			if err == nil || c != nil {
				t.Fatalf("Parse accepted it (%v)", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
