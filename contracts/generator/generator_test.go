package generator_test

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/contracts/generator"
	"github.com/samnav/samnav/pkg/sdk/avro"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestGolden generates from testdata/model, which uses every attribute
// type, and compares with testdata/golden. Refresh with -update.
func TestGolden(t *testing.T) {
	files := generateTestModel(t)
	golden := "testdata/golden"
	if *update {
		if err := os.RemoveAll(golden); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			p := filepath.Join(golden, filepath.FromSlash(f.Path)+".golden")
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var want []string
	err := filepath.WalkDir(golden, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(golden, p)
		want = append(want, strings.TrimSuffix(filepath.ToSlash(rel), ".golden"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path)
		g, err := os.ReadFile(filepath.Join(golden, filepath.FromSlash(f.Path)+".golden"))
		if err != nil {
			t.Errorf("%s: no golden file (run go test -update): %v", f.Path, err)
			continue
		}
		if string(g) != string(f.Data) {
			t.Errorf("%s differs from its golden file (run go test -update and review the diff)", f.Path)
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("generated files %q, golden files %q", got, want)
	}
}

// generateTestModel generates every file from testdata/model.
func generateTestModel(t *testing.T) []generator.File {
	t.Helper()
	files, err := generator.GenerateDir("testdata/model")
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestDeterministic generates twice and expects the same bytes.
func TestDeterministic(t *testing.T) {
	for _, dir := range []string{"testdata/model", "../model"} {
		m := contractstest.LoadDir(t, dir)
		a, err := generator.Generate(m)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			b, err := generator.Generate(m)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(a, b, func(x, y generator.File) bool { return x.Path == y.Path && string(x.Data) == string(y.Data) }) {
				t.Fatalf("%s: two runs generated different output", dir)
			}
		}
	}
}

// TestAvroSchemas parses every schema generated from the test model with
// pkg/sdk/avro and round-trips a value with every attribute set; AvroSchemas
// is Avro of every concept.
func TestAvroSchemas(t *testing.T) {
	m := contractstest.LoadDir(t, "testdata/model")
	c := m.Concept("library")
	text, err := generator.Avro(c)
	if err != nil {
		t.Fatal(err)
	}
	// AvroSchemas holds the same schema for every concept of the model.
	schemas, err := generator.AvroSchemas(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(schemas) != len(m.Concepts) || schemas["library"] != string(text) {
		t.Errorf("AvroSchemas holds %d schemas for %d concepts; library's is Avro's: %v", len(schemas), len(m.Concepts), schemas["library"] == string(text))
	}
	for _, c := range m.Concepts {
		if want, err := generator.Avro(c); err != nil || schemas[c.ID] != string(want) {
			t.Errorf("AvroSchemas()[%s] is not Avro's schema of %s (%v)", c.ID, c.ID, err)
		}
	}
	s, err := avro.Parse(string(text))
	if err != nil {
		t.Fatal(err)
	}
	if s.FullName() != "se.samnav.library.v2.Library" {
		t.Errorf("full name %s", s.FullName())
	}
	for _, prop := range []string{`"samnav.classification"`, `"samnav.personalData": "sensitive"`, `"samnav.shielded": true`, `"samnav.naturalKey": true`, `"samnav.ref": "library"`, `"samnav.master": "samnav"`} {
		if !strings.Contains(string(text), prop) {
			t.Errorf("schema lacks %s", prop)
		}
	}
	for _, prop := range []string{`"samnav.`, `"doc"`} {
		if strings.Contains(s.Canonical(), prop) {
			t.Errorf("canonical form holds %s: properties would change the fingerprint", prop)
		}
	}
}

func TestWriteLeavesEarlierMajors(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "avro", "library.v1.avsc")
	if err := os.MkdirAll(filepath.Dir(old), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	files := generateTestModel(t)
	if err := generator.Write(dir, files); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); err != nil {
		t.Errorf("the earlier major's schema is gone: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "avro", "library.v2.avsc")); err != nil {
		t.Errorf("the current major's schema was not written: %v", err)
	}
}

// TestEveryFileIsMarkedGenerated: every generated file says so near its
// top (a schema in a property), so that nobody edits it by hand (html/template, for one, drops a
// marker written as an HTML comment in its template).
func TestEveryFileIsMarkedGenerated(t *testing.T) {
	files := generateTestModel(t)
	for _, f := range files {
		head := strings.Join(strings.SplitN(string(f.Data), "\n", 6)[:5], "\n")
		if strings.HasSuffix(f.Path, ".avsc") {
			// JSON has no comments: the marker is a schema property.
			head = string(f.Data)
		}
		if !strings.Contains(head, "Code generated by contractsgen") || !strings.Contains(head, "DO NOT EDIT.") {
			t.Errorf("%s: no generated-file marker in its first lines:\n%s", f.Path, head)
		}
	}
}

// TestStale: after Write nothing is stale; a file changed or removed is.
func TestStale(t *testing.T) {
	dir := t.TempDir()
	files := generateTestModel(t)
	if err := generator.Write(dir, files); err != nil {
		t.Fatal(err)
	}
	if stale := generator.Stale(dir, files); len(stale) != 0 {
		t.Fatalf("stale right after Write: %q", stale)
	}
	if err := os.WriteFile(filepath.Join(dir, "asyncapi.yaml"), []byte("edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "docs", "catalogue.md")); err != nil {
		t.Fatal(err)
	}
	if stale := generator.Stale(dir, files); !slices.Equal(stale, []string{"asyncapi.yaml", "docs/catalogue.md"}) {
		t.Fatalf("stale %q, want the edited and the removed file", stale)
	}
}

func TestGenerateDirNamesTheModelProblem(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("id: Not-An-Id\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := generator.GenerateDir(dir); err == nil || !strings.HasPrefix(err.Error(), "load model:") {
		t.Fatalf("error %v, want one saying the model did not load", err)
	}
}
