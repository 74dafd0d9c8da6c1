package model_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// compileFormatSchema compiles model/concept.schema.json, the JSON Schema
// editors use for the model files.
func compileFormatSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("../model/concept.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("concept.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("concept.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func yamlToJSONValue(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFormatSchemaAcceptsModel checks that the published JSON Schema
// accepts every committed model file, and rejects what Load rejects for
// the shape of a file, so editors and Load tell the same story.
func TestFormatSchemaAcceptsModel(t *testing.T) {
	s := compileFormatSchema(t)
	files, err := filepath.Glob("../model/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no model files: %v", err)
	}
	for _, f := range append(files, "../generator/testdata/model/library.yaml") {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(yamlToJSONValue(t, data)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	bad := []struct{ name, text string }{
		{"unknown key", strings.Replace(good, "master:", "owner: x\nmaster:", 1)},
		{"bad type", strings.Replace(good, "type: string", "type: strng", 1)},
		{"classification out of range", strings.Replace(good, "integrity: 3", "integrity: 5", 1)},
		{"missing label", strings.Replace(good, "    label: {sv: Förnamn, en: Given name}\n", "", 1)},
		{"reserved id", attr("id", "type: string\n")},
		{"enum without codes", attr("status", "type: enum\n")},
		{"unknown attribute key", attr("age", "type: int\nrequird: true\n")},
		{"unknown check", attr("pnr", "type: string\nvalidation: {check: luhn}\n")},
		{"list of lists", attr("grid", "type: list\nitems:\n  type: list\n  items: {type: int}\n")},
	}
	for _, b := range bad {
		if err := s.Validate(yamlToJSONValue(t, []byte(b.text))); err == nil {
			t.Errorf("%s: the JSON Schema accepts it, Load does not", b.name)
		}
	}
}
