package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	hambareg "github.com/hamba/avro/v2/registry"

	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/services/registry"
)

const (
	user, pass = "ci", "s3cret"
	token      = "tok-123"
)

// start runs a registry on 127.0.0.1:0 over a SQLite file in dir and
// returns it and its base URL. It is closed when the test ends.
func start(t testing.TB, dir string, mutate ...func(*registry.Config)) (*registry.Server, string) {
	t.Helper()
	cfg := registry.Config{
		Base:       daemon.Base{Addr: "127.0.0.1:0", Driver: registry.DriverSQLite, DataDir: dir},
		Authorizer: registry.NewCredentials([]string{token}, []string{user + ":" + pass}),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := registry.New(cfg, registry.Deps{})
	if err != nil {
		t.Fatalf("new registry: %v", err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("start registry: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s, "http://" + s.Addr()
}

const (
	personV1 = `{"type":"record","name":"Person","namespace":"se.stockholm","fields":[{"name":"id","type":"string"}]}`
	// personV2 adds a field with a default: backward and forward compatible.
	personV2 = `{"type":"record","name":"Person","namespace":"se.stockholm","fields":[{"name":"id","type":"string"},{"name":"name","type":"string","default":""}]}`
	// personBad adds a field without a default: not backward compatible.
	personBad = `{"type":"record","name":"Person","namespace":"se.stockholm","fields":[{"name":"id","type":"string"},{"name":"age","type":"int"}]}`
)

// TestThirdPartyClient drives the registry with hamba/avro's Confluent
// registry client, and expects what Confluent's registry answers.
func TestThirdPartyClient(t *testing.T) {
	ctx := context.Background()
	_, base := start(t, t.TempDir())
	client, err := hambareg.NewClient(base, hambareg.WithBasicAuth(user, pass))
	if err != nil {
		t.Fatal(err)
	}

	// Register: first id is 1; registering again is idempotent.
	id1, _, err := client.CreateSchema(ctx, "person-value", personV1)
	if err != nil || id1 != 1 {
		t.Fatalf("CreateSchema v1 = %d, %v; want 1, nil", id1, err)
	}
	again, _, err := client.CreateSchema(ctx, "person-value", personV1)
	if err != nil || again != id1 {
		t.Fatalf("CreateSchema v1 again = %d, %v; want %d (idempotent)", again, err, id1)
	}
	// Same schema, other subject: same global id, as Confluent.
	other, _, err := client.CreateSchema(ctx, "person-copy-value", personV1)
	if err != nil || other != id1 {
		t.Fatalf("CreateSchema v1 under another subject = %d, %v; want %d", other, err, id1)
	}
	id2, _, err := client.CreateSchema(ctx, "person-value", personV2)
	if err != nil || id2 != 2 {
		t.Fatalf("CreateSchema v2 = %d, %v; want 2", id2, err)
	}

	// Lookup.
	gotID, sch, err := client.IsRegistered(ctx, "person-value", personV2)
	if err != nil || gotID != id2 || sch.(interface{ FullName() string }).FullName() != "se.stockholm.Person" {
		t.Fatalf("IsRegistered v2 = %d, %v; want %d", gotID, err, id2)
	}
	_, _, err = client.IsRegistered(ctx, "person-value", personBad)
	assertCode(t, err, 40403)
	_, _, err = client.IsRegistered(ctx, "nobody-value", personV1)
	assertCode(t, err, 40401)

	// Get by id, by version, latest.
	byID, err := client.GetSchema(ctx, id1)
	if err != nil || byID.String() != mustCanonical(t, personV1) {
		t.Fatalf("GetSchema(%d) = %v, %v", id1, byID, err)
	}
	_, err = client.GetSchema(ctx, 99)
	assertCode(t, err, 40403)
	info, err := client.GetLatestSchemaInfo(ctx, "person-value")
	if err != nil || info.ID != id2 || info.Version != 2 {
		t.Fatalf("GetLatestSchemaInfo = %+v, %v; want id %d version 2", info, err, id2)
	}
	versions, err := client.GetVersions(ctx, "person-value")
	if err != nil || len(versions) != 2 || versions[0] != 1 || versions[1] != 2 {
		t.Fatalf("GetVersions = %v, %v; want [1 2]", versions, err)
	}
	subjects, err := client.GetSubjects(ctx)
	if err != nil || strings.Join(subjects, ",") != "person-copy-value,person-value" {
		t.Fatalf("GetSubjects = %v, %v", subjects, err)
	}

	// Compatibility: default BACKWARD_TRANSITIVE rejects a field without
	// a default, and registering it fails with 409.
	ok, err := client.IsCompatible(ctx, "person-value", personV2)
	if err != nil || !ok {
		t.Fatalf("IsCompatible(v2) = %v, %v; want true", ok, err)
	}
	ok, err = client.IsCompatible(ctx, "person-value", personBad)
	if err != nil || ok {
		t.Fatalf("IsCompatible(bad) = %v, %v; want false", ok, err)
	}
	_, _, err = client.CreateSchema(ctx, "person-value", personBad)
	assertCode(t, err, 409)

	// Config. Confluent answers GET /config with {"compatibilityLevel":
	// ...}; hamba's Get*CompatibilityLevel decode a "compatibility" field
	// instead and so read "" from Confluent too. The test checks what the
	// registry sends, as Confluent sends it, and uses hamba for the rest.
	if lvl := getLevel(t, base+"/config"); lvl != "BACKWARD_TRANSITIVE" {
		t.Fatalf("GET /config level = %q; want BACKWARD_TRANSITIVE (Samnav's default)", lvl)
	}
	_, err = client.GetCompatibilityLevel(ctx, "person-value")
	assertCode(t, err, 40408)
	if err := client.SetCompatibilityLevel(ctx, "person-value", "NONE"); err != nil {
		t.Fatalf("SetCompatibilityLevel: %v", err)
	}
	if lvl := getLevel(t, base+"/config/person-value"); lvl != "NONE" {
		t.Fatalf("GET /config/person-value level = %q; want NONE", lvl)
	}
	// With NONE the incompatible schema is accepted as version 3.
	id3, _, err := client.CreateSchema(ctx, "person-value", personBad)
	if err != nil || id3 != 3 {
		t.Fatalf("CreateSchema bad under NONE = %d, %v; want 3", id3, err)
	}
	if err := client.SetGlobalCompatibilityLevel(ctx, "FULL"); err != nil {
		t.Fatalf("SetGlobalCompatibilityLevel: %v", err)
	}
	if lvl := getLevel(t, base+"/config"); lvl != "FULL" {
		t.Fatalf("GET /config level = %q; want FULL", lvl)
	}

	// Delete (soft) returns the versions deleted.
	deleted, err := client.DeleteSubject(ctx, "person-copy-value")
	if err != nil || len(deleted) != 1 || deleted[0] != 1 {
		t.Fatalf("DeleteSubject = %v, %v; want [1]", deleted, err)
	}

	// Writes without credentials are refused with 401.
	anon, _ := hambareg.NewClient(base)
	_, _, err = anon.CreateSchema(ctx, "person-value", personV2)
	assertCode(t, err, 401)
	// Reads are open.
	if _, err := anon.GetSchema(ctx, id1); err != nil {
		t.Fatalf("anonymous GetSchema: %v", err)
	}
}

// mustCanonical is the Parsing Canonical Form, which is what the String
// method of the schemas hamba's client returns.
func mustCanonical(t *testing.T, text string) string {
	t.Helper()
	s, err := avro.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return s.Canonical()
}

// getLevel GETs a /config URL and returns its compatibilityLevel.
func getLevel(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		CompatibilityLevel string `json:"compatibilityLevel"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, %v", url, resp.StatusCode, err)
	}
	return body.CompatibilityLevel
}

func assertCode(t *testing.T, err error, code int) {
	t.Helper()
	var re hambareg.Error
	if !errors.As(err, &re) {
		t.Fatalf("error = %v; want registry error %d", err, code)
	}
	if re.Code != code {
		t.Fatalf("error code = %d (%s, HTTP %d); want %d", re.Code, re.Message, re.StatusCode, code)
	}
	wantStatus := code
	if code >= 10000 {
		wantStatus = code / 100
	}
	if re.StatusCode != wantStatus {
		t.Fatalf("HTTP status = %d; want %d", re.StatusCode, wantStatus)
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, base := start(t, dir)
	client, _ := hambareg.NewClient(base, hambareg.WithBasicAuth(user, pass))
	mustCreate(t, client, "a-value", personV1, 1)
	mustCreate(t, client, "a-value", personV2, 2)
	mustCreate(t, client, "b-value", `"string"`, 3)
	if err := client.SetCompatibilityLevel(ctx, "a-value", "FULL"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteSubject(ctx, "b-value"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	_, base = start(t, dir)
	client, _ = hambareg.NewClient(base, hambareg.WithBasicAuth(user, pass))
	if info, err := client.GetLatestSchemaInfo(ctx, "a-value"); err != nil || info.ID != 2 || info.Version != 2 {
		t.Fatalf("after restart latest a-value = %+v, %v; want id 2 version 2", info, err)
	}
	if lvl := getLevel(t, base+"/config/a-value"); lvl != "FULL" {
		t.Fatalf("after restart config = %q; want FULL", lvl)
	}
	if subs, err := client.GetSubjects(ctx); err != nil || strings.Join(subs, ",") != "a-value" {
		t.Fatalf("after restart subjects = %v, %v; want [a-value] (b-value soft-deleted)", subs, err)
	}
	if _, err := client.GetSchema(ctx, 3); err != nil {
		t.Fatalf("soft-deleted schema id 3 unreadable after restart: %v", err)
	}
	// The next id continues after the highest ever handed out.
	mustCreate(t, client, "c-value", `"long"`, 4)
}

func mustCreate(t *testing.T, c *hambareg.Client, subject, schema string, wantID int) {
	t.Helper()
	id, _, err := c.CreateSchema(context.Background(), subject, schema)
	if err != nil || id != wantID {
		t.Fatalf("CreateSchema(%s) = %d, %v; want %d", subject, id, err, wantID)
	}
}

func TestSeedIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	seed := func(c *registry.Config) {
		c.Seed = []registry.Seed{{Subject: "person-value", Schema: personV1}, {Subject: "person-value", Schema: personV2}}
	}
	s, _ := start(t, dir, seed)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, base := start(t, dir, seed)
	client, _ := hambareg.NewClient(base)
	versions, err := client.GetVersions(context.Background(), "person-value")
	if err != nil || len(versions) != 2 {
		t.Fatalf("versions after seeding twice = %v, %v; want [1 2]", versions, err)
	}
	// An incompatible seed fails the start.
	_, err = registry.New(registry.Config{Base: daemon.Base{Driver: "sqlite", DataDir: dir}, Authorizer: registry.AllowAllWrites{},
		Seed: []registry.Seed{{Subject: "person-value", Schema: personBad}}}, registry.Deps{})
	if err == nil {
		t.Fatal("New with an incompatible seed succeeded; want an error")
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	err := registry.Config{Base: daemon.Base{Driver: "mysql"}, DefaultCompatibility: "SIDEWAYS", Seed: []registry.Seed{{}}}.Validate()
	if err == nil {
		t.Fatal("Validate accepted an invalid config")
	}
	for _, want := range []string{"Driver", "DefaultCompatibility", "Authorizer", "Seed[0].Subject", "Seed[0].Schema"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %q does not name %s", err, want)
		}
	}
	ok := registry.Config{Base: daemon.Base{Driver: "postgres", DSN: "postgres://x"}, Authorizer: registry.AllowAllWrites{}}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(valid) = %v", err)
	}
}

func TestLoadConfig(t *testing.T) {
	env := map[string]string{
		"SAMNAV_REGISTRY_ADDR":     ":9999",
		"SAMNAV_REGISTRY_DATA_DIR": "/var/lib/registry",
		registry.EnvTokens:         "a, b",
		registry.EnvBasicAuth:      "u:p",
	}
	cfg, err := registry.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":9999" || cfg.Driver != "sqlite" || cfg.DataDir != "/var/lib/registry" || cfg.Authorizer == nil {
		t.Fatalf("LoadConfig = %+v", cfg)
	}
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Authorization", "Bearer b")
	if err := cfg.Authorizer.AuthorizeWrite(r); err != nil {
		t.Errorf("token b refused: %v", err)
	}
	env[registry.EnvOpenWrites] = "true"
	if _, err := registry.LoadConfig(func(k string) string { return env[k] }); err == nil {
		t.Error("LoadConfig accepted open writes together with credentials")
	}
}

func TestCredentials(t *testing.T) {
	c := registry.NewCredentials([]string{"tok"}, []string{"u:p"})
	tests := []struct {
		name string
		set  func(*http.Request)
		ok   bool
	}{
		{"none", func(*http.Request) {}, false},
		{"bearer ok", func(r *http.Request) { r.Header.Set("Authorization", "Bearer tok") }, true},
		{"bearer wrong", func(r *http.Request) { r.Header.Set("Authorization", "Bearer tok2") }, false},
		{"basic ok", func(r *http.Request) { r.SetBasicAuth("u", "p") }, true},
		{"basic wrong password", func(r *http.Request) { r.SetBasicAuth("u", "q") }, false},
		{"basic token as password", func(r *http.Request) { r.SetBasicAuth("x", "tok") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodPost, "/", nil)
			tt.set(r)
			if err := c.AuthorizeWrite(r); (err == nil) != tt.ok {
				t.Fatalf("AuthorizeWrite = %v; want ok=%v", err, tt.ok)
			}
		})
	}
}
