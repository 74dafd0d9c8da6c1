package projection_test

import (
	"encoding/json"
	"testing"
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
