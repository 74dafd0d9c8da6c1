package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func put(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "body.json")
	put(t, path, `{"a":1}`)
	for _, tc := range []struct {
		got, want string // want: a text every failure must hold; "" for none
	}{
		{`{"a":1}`, ""},
		{`{"a":2}`, "body.json differs"},
	} {
		if got := errText(file(path, []byte(tc.got), false)); (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("File(%s): failures %q, want %q", tc.got, got, tc.want)
		}
	}
	if got := errText(file(filepath.Join(t.TempDir(), "missing.json"), nil, false)); !strings.Contains(got, "-update") {
		t.Errorf("a missing golden file: %q, want an error naming -update", got)
	}
	// -update writes the file, which then compares equal.
	fresh := filepath.Join(t.TempDir(), "sub", "fresh.json")
	if err := file(fresh, []byte("new"), true); err != nil {
		t.Fatal(err)
	}
	if err := file(fresh, []byte("new"), false); err != nil {
		t.Errorf("after -update: %v", err)
	}
}

func TestDir(t *testing.T) {
	dir := t.TempDir()
	put(t, filepath.Join(dir, "a.go"+Suffix), "package a")
	put(t, filepath.Join(dir, "sub", "b.avsc"+Suffix), "{}")
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		want  []string
	}{
		{"same", map[string][]byte{"a.go": []byte("package a"), "sub/b.avsc": []byte("{}")}, nil},
		{"changed", map[string][]byte{"a.go": []byte("package b"), "sub/b.avsc": []byte("{}")}, []string{"a.go differs"}},
		{"one more", map[string][]byte{"a.go": []byte("package a"), "sub/b.avsc": []byte("{}"), "c.md": nil}, []string{"c.md: no golden file", `golden files ["a.go" "sub/b.avsc"]`}},
		{"one fewer", map[string][]byte{"a.go": []byte("package a")}, []string{`files ["a.go"], golden files ["a.go" "sub/b.avsc"]`}},
	} {
		got := errText(directory(dir, tc.files, false))
		if len(tc.want) == 0 && got != "" {
			t.Errorf("%s: failures %q, want none", tc.name, got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: failures %q, want %q", tc.name, got, w)
			}
		}
	}
}

func TestDirUpdate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "golden")
	put(t, filepath.Join(dir, "stale.go"+Suffix), "package stale")
	files := map[string][]byte{"a.go": []byte("package a"), "sub/b.avsc": []byte("{}")}
	if err := directory(dir, files, true); err != nil {
		t.Fatal(err)
	}
	if err := directory(dir, files, false); err != nil {
		t.Errorf("after -update: %v", err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
