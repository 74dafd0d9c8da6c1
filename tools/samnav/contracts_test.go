package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const (
	schemaV1 = `{"type":"record","name":"Person","namespace":"se.samnav.person.v1","fields":[
  {"name":"id","type":"string"},
  {"name":"givenNames","type":"string"},
  {"name":"status","type":{"type":"enum","name":"Status","symbols":["ACTIVE","DECEASED"]}},
  {"name":"address","type":{"type":"record","name":"Address","fields":[{"name":"postalCode","type":"string"}]}}]}`
	// Compatible with v1: an optional field added.
	schemaV1Compatible = `{"type":"record","name":"Person","namespace":"se.samnav.person.v1","fields":[
  {"name":"id","type":"string"},
  {"name":"givenNames","type":"string"},
  {"name":"status","type":{"type":"enum","name":"Status","symbols":["ACTIVE","DECEASED"]}},
  {"name":"address","type":{"type":"record","name":"Address","fields":[{"name":"postalCode","type":"string"}]}},
  {"name":"surname","type":["null","string"],"default":null}]}`
	// Breaking against v1: a symbol removed, a nested type changed, a field
	// added without a default.
	schemaV1Breaking = `{"type":"record","name":"Person","namespace":"se.samnav.person.v1","fields":[
  {"name":"id","type":"string"},
  {"name":"givenNames","type":"string"},
  {"name":"status","type":{"type":"enum","name":"Status","symbols":["ACTIVE"]}},
  {"name":"address","type":{"type":"record","name":"Address","fields":[{"name":"postalCode","type":"int"}]}},
  {"name":"surname","type":"string"}]}`
	schemaV2 = `{"type":"record","name":"Person","namespace":"se.samnav.person.v2","fields":[{"name":"id","type":"string"},{"name":"fullName","type":"string"}]}`
)

func writeAvro(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	avroDir := filepath.Join(dir, "avro")
	if err := os.MkdirAll(avroDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		p := filepath.Join(avroDir, name)
		if text == "" {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func runGit(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=test", "-c", "user.email=test@example.org", "-c", "commit.gpgsign=false"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestContractsCheckGit runs the check against a temporary repository with
// two commits: the first holds v1, the second (the working tree) a change.
func TestContractsCheckGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	tests := []struct {
		name     string
		change   map[string]string // avro file -> new text ("" removes it)
		args     []string
		wantErr  bool
		wantOut  []string
		wantNone []string
	}{
		{name: "compatible change passes", change: map[string]string{"person.v1.avsc": schemaV1Compatible},
			wantOut: []string{"no breaking changes"}},
		{name: "breaking change fails and says why", change: map[string]string{"person.v1.avsc": schemaV1Breaking}, wantErr: true,
			wantOut: []string{
				"enum symbol DECEASED of status was removed",
				"type of address.postalCode changed from string to int",
				"field surname was added without a default",
				"samnav.person.v1",
				"BACKWARD_TRANSITIVE, backward against HEAD~1",
			}},
		{name: "breaking change as a new major passes", change: map[string]string{"person.v2.avsc": schemaV2},
			wantOut: []string{"2 contracts checked", "no breaking changes"}},
		{name: "level NONE allows anything", change: map[string]string{"person.v1.avsc": schemaV1Breaking}, args: []string{"--level", "none"},
			wantOut: []string{"no breaking changes"}},
		{name: "forward level sees the added field", change: map[string]string{"person.v1.avsc": schemaV1Compatible}, args: []string{"--level", "FORWARD"},
			wantOut: []string{"no breaking changes"}},
		{name: "removing a contract breaks", change: map[string]string{"person.v1.avsc": "", "person.v2.avsc": schemaV2}, wantErr: true,
			wantOut: []string{"contract removed"}},
		{name: "removing a contract allowed on request", change: map[string]string{"person.v1.avsc": "", "person.v2.avsc": schemaV2}, args: []string{"--allow-removed"},
			wantOut: []string{"no breaking changes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := t.TempDir()
			dir := filepath.Join(repo, "contracts")
			runGit(t, repo, "init", "-q")
			writeAvro(t, dir, map[string]string{"person.v1.avsc": schemaV1})
			runGit(t, repo, "add", ".")
			runGit(t, repo, "commit", "-q", "-m", "v1")
			writeAvro(t, dir, tt.change)
			runGit(t, repo, "add", "-A")
			runGit(t, repo, "commit", "-q", "-m", "change")

			var stdout, stderr bytes.Buffer
			args := append([]string{"contracts", "check", "--dir", dir, "--against", "HEAD~1"}, tt.args...)
			err := run(context.Background(), args, &stdout, &stderr)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v\nstdout:\n%s", err, tt.wantErr, stdout.String())
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, stdout.String())
				}
			}
			if err != nil && tt.wantErr && !strings.Contains(err.Error(), "breaking change") {
				t.Errorf("error %q does not say what broke", err)
			}

			// The second commit against itself never breaks.
			stdout.Reset()
			if err := run(context.Background(), []string{"contracts", "check", "--dir", dir, "--against", "HEAD"}, &stdout, &stderr); err != nil {
				t.Errorf("check against HEAD: %v\n%s", err, stdout.String())
			}
		})
	}
}

func TestContractsCheckUsage(t *testing.T) {
	dir := t.TempDir()
	writeAvro(t, dir, map[string]string{"person.v1.avsc": schemaV1})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"contracts"}, "gen or check"},
		{"unknown subcommand", []string{"contracts", "lint"}, `"lint"`},
		{"no against", []string{"contracts", "check", "--dir", dir}, "--against"},
		{"bad level", []string{"contracts", "check", "--dir", dir, "--against", "http://127.0.0.1:1", "--level", "SIDEWAYS"}, "SIDEWAYS"},
		{"unknown ref", []string{"contracts", "check", "--dir", dir, "--against", "no-such-ref"}, "no-such-ref"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, &bytes.Buffer{}, &bytes.Buffer{})
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a usage error naming %s", err, tt.want)
			}
		})
	}
}

// fakeRegistry serves the Confluent REST API's read endpoints the check
// uses, from subject -> versions (oldest first) and subject -> level.
func fakeRegistry(t *testing.T, subjects map[string][]string, levels map[string]string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	notFound := func(w http.ResponseWriter, code int, msg string) {
		reply(w, http.StatusNotFound, map[string]any{"error_code": code, "message": msg})
	}
	mux.HandleFunc("GET /subjects/{subject}/versions", func(w http.ResponseWriter, r *http.Request) {
		vs, ok := subjects[r.PathValue("subject")]
		if !ok {
			notFound(w, 40401, "Subject not found.")
			return
		}
		ids := make([]int, len(vs))
		for i := range vs {
			ids[i] = i + 1
		}
		reply(w, http.StatusOK, ids)
	})
	mux.HandleFunc("GET /subjects/{subject}/versions/{version}", func(w http.ResponseWriter, r *http.Request) {
		vs, ok := subjects[r.PathValue("subject")]
		if !ok {
			notFound(w, 40401, "Subject not found.")
			return
		}
		var v int
		if _, err := fmt.Sscan(r.PathValue("version"), &v); err != nil || v < 1 || v > len(vs) {
			notFound(w, 40402, "Version not found.")
			return
		}
		reply(w, http.StatusOK, map[string]any{"subject": r.PathValue("subject"), "version": v, "id": 100 + v, "schema": vs[v-1]})
	})
	mux.HandleFunc("GET /config/{subject}", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("defaultToGlobal") != "true" {
			t.Errorf("config asked without defaultToGlobal=true")
		}
		l, ok := levels[r.PathValue("subject")]
		if !ok {
			l = "BACKWARD_TRANSITIVE"
		}
		reply(w, http.StatusOK, map[string]string{"compatibilityLevel": l})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestContractsCheckRegistry(t *testing.T) {
	const subject = "samnav.person.v1-value"
	// v1 -> breaking-compatible-with-latest-only: BACKWARD passes, the
	// transitive level fails against version 1.
	oldPostalInt := strings.Replace(schemaV1, `{"name":"postalCode","type":"string"}`, `{"name":"postalCode","type":"int"}`, 1)
	tests := []struct {
		name     string
		working  string
		versions []string
		level    string // the subject's level in the registry
		args     []string
		wantErr  bool
		wantOut  []string
	}{
		{name: "new subject passes", working: schemaV1, versions: nil, wantOut: []string{"no breaking changes"}},
		{name: "unchanged passes", working: schemaV1, versions: []string{schemaV1}, wantOut: []string{"no breaking changes"}},
		{name: "breaking fails", working: schemaV1Breaking, versions: []string{schemaV1}, wantErr: true,
			wantOut: []string{"enum symbol DECEASED of status was removed", "against samnav.person.v1-value version 1"}},
		{name: "subject level BACKWARD checks the latest only", working: schemaV1, versions: []string{oldPostalInt, schemaV1}, level: "BACKWARD",
			wantOut: []string{"no breaking changes"}},
		{name: "subject level BACKWARD_TRANSITIVE checks all", working: schemaV1, versions: []string{oldPostalInt, schemaV1}, level: "BACKWARD_TRANSITIVE", wantErr: true,
			wantOut: []string{"type of address.postalCode changed from int to string", "version 1"}},
		{name: "--level overrides the subject's", working: schemaV1, versions: []string{oldPostalInt, schemaV1}, level: "BACKWARD", args: []string{"--level", "FULL_TRANSITIVE"}, wantErr: true,
			wantOut: []string{"FULL_TRANSITIVE"}},
		{name: "subject level FORWARD sees an added symbol", working: strings.Replace(schemaV1, `"DECEASED"]`, `"DECEASED","EMIGRATED"]`, 1), versions: []string{schemaV1}, level: "FORWARD", wantErr: true,
			wantOut: []string{"enum symbol EMIGRATED was added to status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subjects := map[string][]string{}
			if tt.versions != nil {
				subjects[subject] = tt.versions
			}
			levels := map[string]string{}
			if tt.level != "" {
				levels[subject] = tt.level
			}
			srv := fakeRegistry(t, subjects, levels)
			dir := t.TempDir()
			writeAvro(t, dir, map[string]string{"person.v1.avsc": tt.working})
			var stdout bytes.Buffer
			args := append([]string{"contracts", "check", "--dir", dir, "--against", srv.URL}, tt.args...)
			err := run(context.Background(), args, &stdout, &bytes.Buffer{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v\n%s", err, tt.wantErr, stdout.String())
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, stdout.String())
				}
			}
		})
	}
}

func TestContractsCheckRegistryError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error_code":50001,"message":"Error in the backend data store"}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	writeAvro(t, dir, map[string]string{"person.v1.avsc": schemaV1})
	err := run(context.Background(), []string{"contracts", "check", "--dir", dir, "--against", srv.URL}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "50001") {
		t.Errorf("err = %v, want the registry's error", err)
	}
}

// TestContractsGen generates from the repository's model into a temporary
// directory and verifies it, then makes one file stale.
func TestContractsGen(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "model"), os.DirFS("../../contracts/model")); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"contracts", "gen", "--dir", dir}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"contracts", "gen", "--dir", dir, "--verify"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("verify right after gen: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "avro", "person.v1.avsc"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"contracts", "gen", "--dir", dir, "--verify"}, &out, &stderr)
	if err == nil || !strings.Contains(stderr.String(), "person.v1.avsc") {
		t.Errorf("verify of a stale file: err = %v, stderr %q", err, stderr.String())
	}
	// The check refuses schemas the model no longer generates.
	stderr.Reset()
	err = run(context.Background(), []string{"contracts", "check", "--dir", dir, "--against", "http://127.0.0.1:1"}, &out, &stderr)
	if err == nil || !strings.Contains(err.Error(), "run samnav contracts gen first") || !strings.Contains(stderr.String(), "person.v1.avsc") {
		t.Errorf("check with a stale schema: err = %v, stderr %q", err, stderr.String())
	}
	// A broken model names file, line and rule.
	if err := os.WriteFile(filepath.Join(dir, "model", "person.yaml"), []byte("id: person\nmajor: zero\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	err = run(context.Background(), []string{"contracts", "gen", "--dir", dir}, &out, &stderr)
	if err == nil || !strings.Contains(stderr.String(), "person.yaml:2: concept person: major must be an integer") {
		t.Errorf("broken model: err = %v, stderr:\n%s", err, stderr.String())
	}
}
