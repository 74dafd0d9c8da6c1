package event_test

import (
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/contracts/generator"
	"github.com/samnav/samnav/pkg/sdk/envelope"
)

// TestContractsAgreeWithEnvelope: the contracts module is its own Go
// module and must not import pkg, so it spells the state topic name
// (model.Concept.Topic, contracts.Contracts, the generated concepts table)
// and the AsyncAPI header names itself. This test holds those spellings
// to pkg/sdk/envelope, the one definition every service reads and writes by.
func TestContractsAgreeWithEnvelope(t *testing.T) {
	m := contractstest.Model(t)
	for _, c := range m.Concepts {
		if got, want := c.Topic(), envelope.StateTopic(c.ID, c.Major); got != want {
			t.Errorf("model topic of %s = %q, envelope says %q", c.ID, got, want)
		}
	}
	cs := contractstest.Contracts(t)
	for _, c := range cs {
		concept, major, err := envelope.ParseStateTopic(c.Topic)
		if err != nil || concept != c.Concept || major != c.Major {
			t.Errorf("contract topic %q parses as %q v%d (%v), want %q v%d", c.Topic, concept, major, err, c.Concept, c.Major)
		}
	}

	doc, err := generator.AsyncAPI(m)
	if err != nil {
		t.Fatal(err)
	}
	var api struct {
		Components struct {
			Messages map[string]struct {
				Headers struct {
					Properties map[string]any `yaml:"properties"`
				} `yaml:"headers"`
			} `yaml:"messages"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(doc, &api); err != nil {
		t.Fatal(err)
	}
	known := []string{envelope.HeaderID, envelope.HeaderSource, envelope.HeaderSpecVersion, envelope.HeaderType, envelope.HeaderTime,
		envelope.HeaderSubject, envelope.HeaderDataSchema, envelope.HeaderContentType, envelope.HeaderTraceParent, envelope.HeaderTraceState,
		envelope.HeaderRevision, envelope.HeaderEndedAt, envelope.HeaderResync}
	if len(api.Components.Messages) == 0 {
		t.Fatal("the AsyncAPI document has no messages")
	}
	for name, msg := range api.Components.Messages {
		// Every header the state topic carries (see Builder.Entry).
		for _, required := range []string{envelope.HeaderID, envelope.HeaderType, envelope.HeaderSource, envelope.HeaderSpecVersion,
			envelope.HeaderTime, envelope.HeaderSubject, envelope.HeaderContentType, envelope.HeaderTraceParent,
			envelope.HeaderRevision, envelope.HeaderEndedAt, envelope.HeaderResync} {
			if _, ok := msg.Headers.Properties[required]; !ok {
				t.Errorf("AsyncAPI message %s does not document header %s", name, required)
			}
		}
		for h := range msg.Headers.Properties {
			if !slices.Contains(known, h) {
				t.Errorf("AsyncAPI message %s documents header %q, which pkg/sdk/envelope does not define", name, h)
			}
		}
	}
}
