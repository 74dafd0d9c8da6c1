package projection_test

import (
	"encoding/json"
	"testing"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/services/hubtest"
)

type schemaField struct {
	Name     string
	Nullable bool
}

func fieldsOf(t testing.TB, schema string) []schemaField {
	t.Helper()
	var rec struct {
		Fields []struct {
			Name string          `json:"name"`
			Type json.RawMessage `json:"type"`
		} `json:"fields"`
	}
	if err := json.Unmarshal([]byte(schema), &rec); err != nil {
		t.Fatal(err)
	}
	var out []schemaField
	for _, f := range rec.Fields {
		out = append(out, schemaField{Name: f.Name, Nullable: len(f.Type) > 7 && string(f.Type[:7]) == `["null"`})
	}
	return out
}

// person is the person concept and the schema generated from it (the
// contract as published: contracts' TestGeneratedFilesCurrent keeps them
// the same).
func person(t testing.TB) (*model.Concept, string) {
	t.Helper()
	m, schemas := hubtest.Model(t)
	return m.Concept("person"), schemas["person"]
}

func ptr[T any](v T) *T { return &v }

// decoded encodes v (a concept's generated type) with the full contract
// and decodes it into a map, as the pipeline sees a state-topic record.
func decoded(t testing.TB, schema string, v any) map[string]any {
	t.Helper()
	s := avro.MustParse(schema)
	b, err := avro.Marshal(s, v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := avro.Unmarshal(s, b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
