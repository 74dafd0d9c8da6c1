package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samnav/samnav/pkg/auth"
)

func TestImportThroughTheAPIAndResync(t *testing.T) {
	cfg := testConfig(t)
	cfg.NoSeed = true
	h := startTestHub(t, cfg)
	token, _, err := h.tokens.Issue(t.Context(), auth.IssueRequest{
		Subject: "folkbokforing", Kind: auth.KindSystem, Grants: []auth.Grant{{Role: auth.RolePublisher, System: "folkbokforing"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "persons.csv")
	csv := "personalIdentityNumber,givenNames,surname,dateOfBirth,protectedIdentity,registrationStatus\n" +
		"199001012385,Anna,Andersson,1990-01-01,NONE,REGISTERED\n" +
		"199001012384,Bad,Checksum,1990-01-01,NONE,REGISTERED\n" +
		"199001012393,Bo,Berg,1990-01-01,NONE,REGISTERED\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err = run(t.Context(), []string{"import", "--url", "http://" + h.httpLn.Addr().String(), "--token", token, "--concept", "person", file}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "1 rows were rejected") {
		t.Fatalf("import: err = %v, want one rejected row\n%s%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "3 rows, 2 stored, 1 rejected") {
		t.Fatalf("import summary: %s", stdout.String())
	}
	rep, err := os.ReadFile(file + ".rejected.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rep), `"field":"personalIdentityNumber"`) || !strings.Contains(string(rep), `"rule":"check"`) {
		t.Fatalf("report does not name the field and rule: %s", rep)
	}

	// Running it again resumes after the last row: nothing is stored twice.
	stdout.Reset()
	_ = run(t.Context(), []string{"import", "--url", "http://" + h.httpLn.Addr().String(), "--token", token, "--concept", "person", file}, &stdout, &stderr)
	if !strings.Contains(stdout.String(), "3 rows, 2 stored, 1 rejected") || !strings.Contains(stdout.String(), "3 done by an earlier run") {
		t.Fatalf("second import: %s", stdout.String())
	}

	// resync republishes both persons, marked as a resync.
	stdout.Reset()
	err = run(t.Context(), []string{"resync", "--data-dir", filepath.Join(cfg.DataDir, "masterdata"), "--registry-url", "http://" + h.registry.Addr(), "person"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("resync: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "Queued 2 person records") {
		t.Fatalf("resync output: %s", stdout.String())
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cl := readFromStart(t, h, "samnav.person.v1")
	resynced := 0
	for resynced < 2 {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of 2 resynced persons arrived", resynced)
		}
		f.EachRecord(func(r *kgo.Record) {
			for _, hd := range r.Headers {
				if hd.Key == "samnav_resync" && string(hd.Value) == "true" {
					resynced++
				}
			}
		})
	}
}

func TestImportUsage(t *testing.T) {
	err := run(t.Context(), []string{"import", "--concept", "shoe", "x.csv"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `--concept "shoe": must be one of`) || !strings.Contains(err.Error(), "--token") {
		t.Fatalf("err = %v", err)
	}
}
