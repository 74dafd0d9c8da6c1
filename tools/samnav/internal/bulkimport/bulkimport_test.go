package bulkimport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/tools/samnav/internal/bulkimport"
)

// memSink stores records in memory; failAt makes the Nth Put (1-based,
// counted across runs) fail with a transient error, failFor times.
type memSink struct {
	mu      sync.Mutex
	records []map[string]any
	puts    int
	failAt  int
	failFor int
}

func (s *memSink) Put(_ context.Context, _ string, fields map[string]any) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	if s.failAt > 0 && s.puts >= s.failAt && s.failFor > 0 {
		s.failFor--
		return "", errors.New("hub unavailable")
	}
	s.records = append(s.records, fields)
	return fmt.Sprintf("id%d", len(s.records)), nil
}

func person(t *testing.T) *model.Concept {
	t.Helper()
	m := contractstest.Model(t)
	return m.Concept("person")
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const header = "personalIdentityNumber,givenNames,surname,dateOfBirth,protectedIdentity,registrationStatus,registeredAddress.streetAddress,registeredAddress.postalCode,registeredAddress.postTown,registeredAddress.municipalityCode,phoneNumbers\n"

func csvRow(pnr, given string) string {
	return pnr + "," + given + ",Andersson,1990-01-01,NONE,REGISTERED,Götgatan 1,11646,Stockholm,0180,+46701234567|+46812345678\n"
}

func TestCSVImportStoresValidAndReportsInvalid(t *testing.T) {
	in := write(t, "persons.csv", header+
		csvRow("199001012385", "Anna")+
		csvRow("199001012384", "Bad checksum")+ // wrong check digit
		"199001012385,Only,three\n"+ // wrong cell count
		csvRow("199001012393", "Bo"))
	p, sink, report := importFile(t, bulkimport.CSV, in)
	if p.Rows != 4 || p.Stored != 2 || p.Rejected != 2 {
		t.Fatalf("progress = %+v, want 4 rows, 2 stored, 2 rejected", p)
	}
	stored := sink.records[0]
	if addr := stored["registeredAddress"].(map[string]any); addr["postalCode"] != "11646" {
		t.Errorf("nested column not set: %v", stored)
	}
	if phones := stored["phoneNumbers"].([]any); len(phones) != 2 {
		t.Errorf("list cell not split: %v", stored["phoneNumbers"])
	}
	lines := strings.Split(strings.TrimSpace(report), "\n")
	if len(lines) != 2 {
		t.Fatalf("report has %d lines, want 2:\n%s", len(lines), report)
	}
	var first struct {
		Row      int                `json:"row"`
		Line     int                `json:"line"`
		Problems []model.FieldError `json:"problems"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Row != 2 || first.Line != 3 || len(first.Problems) == 0 ||
		first.Problems[0].Field != "personalIdentityNumber" || first.Problems[0].Rule == "" {
		t.Fatalf("first rejection = %+v, want row 2 line 3 naming personalIdentityNumber and its rule", first)
	}
	if !strings.Contains(lines[1], "cells") {
		t.Errorf("second rejection should explain the cell count: %s", lines[1])
	}
}

// TestTextIsCheckedAsTheHubChecksIt: a name within its length in NFC but
// over it as written in NFD is stored (in NFC), and a name with a
// bidirectional control is refused naming field and rule.
func TestTextIsCheckedAsTheHubChecksIt(t *testing.T) {
	nfd := strings.Repeat("o\u0308", 200) // 200 characters in NFC, 400 code points as written
	in := write(t, "persons.csv", header+csvRow("199001012385", nfd)+csvRow("199001012393", "Bo\u202eB"))
	p, sink, report := importFile(t, bulkimport.CSV, in)
	if p.Stored != 1 || p.Rejected != 1 {
		t.Fatalf("progress %+v, want 1 stored 1 rejected; report:\n%s", p, report)
	}
	if got := sink.records[0]["givenNames"]; got != strings.Repeat("\u00f6", 200) {
		t.Errorf("stored givenNames is not the NFC form: %q", got)
	}
	if !strings.Contains(report, `"field":"givenNames","rule":"bidi-control"`) {
		t.Errorf("report does not name givenNames bidi-control:\n%s", report)
	}
}

func TestCSVHeaderErrorsNameColumns(t *testing.T) {
	in := write(t, "p.csv", "givenNames,shoeSize,givenNames,registeredAddress\nA,42,B,x\n")
	_, err := bulkimport.Run(context.Background(), bulkimport.Config{Concept: person(t), Format: bulkimport.CSV, Input: in, Report: &bytes.Buffer{}}, &memSink{})
	if err == nil {
		t.Fatal("import with a bad header succeeded")
	}
	for _, want := range []string{`"shoeSize": concept person has no such attribute`, `"givenNames": named twice`, `"registeredAddress": a record cannot be one CSV cell`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestNDJSON(t *testing.T) {
	in := write(t, "p.ndjson", `{"personalIdentityNumber":"199001012385","givenNames":"Anna","surname":"A","dateOfBirth":"1990-01-01","protectedIdentity":"NONE","registrationStatus":"REGISTERED"}

{"givenNames": 
{"givenNames":"Bo","surname":"B","dateOfBirth":"1990-01-01","protectedIdentity":"SECRET","registrationStatus":"REGISTERED"}
`)
	p, _, report := importFile(t, bulkimport.NDJSON, in)
	if p.Stored != 1 || p.Rejected != 2 {
		t.Fatalf("progress %+v, want 1 stored 2 rejected", p)
	}
	if !strings.Contains(report, `"line":3`) || !strings.Contains(report, "protectedIdentity") {
		t.Fatalf("report does not name the bad JSON line and the bad enum:\n%s", report)
	}
}

func TestResumeAfterFailureStoresEachRowOnce(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	for i := range 20 {
		b.WriteString(csvRow("199001012385", fmt.Sprintf("P%d", i)))
	}
	in := write(t, "p.csv", b.String())
	cp := filepath.Join(t.TempDir(), "import.checkpoint")
	sink := &memSink{failAt: 8, failFor: 100} // the hub goes away at the 8th row
	cfg := bulkimport.Config{Concept: person(t), Format: bulkimport.CSV, Input: in, Report: &bytes.Buffer{}, CheckpointPath: cp, Retries: 2, Backoff: 1}
	_, err := bulkimport.Run(context.Background(), cfg, sink)
	if err == nil || !strings.Contains(err.Error(), "row 8") {
		t.Fatalf("first run error = %v, want a stop at row 8", err)
	}
	if len(sink.records) != 7 {
		t.Fatalf("stored %d before the failure, want 7", len(sink.records))
	}
	sink.failFor = 0 // the hub is back
	p, err := bulkimport.Run(context.Background(), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.records) != 20 || p.Skipped != 7 || p.Stored != 20 {
		t.Fatalf("after resume: %d records stored, progress %+v; want 20 stored once each, 7 skipped", len(sink.records), p)
	}
	for i, r := range sink.records {
		if r["givenNames"] != fmt.Sprintf("P%d", i) {
			t.Fatalf("record %d is %v: rows stored out of order or twice", i, r["givenNames"])
		}
	}

	other := write(t, "other.csv", header+csvRow("199001012385", "X"))
	cfg.Input = other
	if _, err := bulkimport.Run(context.Background(), cfg, sink); err == nil || !strings.Contains(err.Error(), "another file") {
		t.Fatalf("resuming with another file: err = %v, want a refusal", err)
	}
}

func TestTransientErrorsAreRetried(t *testing.T) {
	in := write(t, "p.csv", header+csvRow("199001012385", "A")+csvRow("199001012393", "B"))
	sink := &memSink{failAt: 1, failFor: 2}
	p, err := bulkimport.Run(context.Background(), bulkimport.Config{Concept: person(t), Format: bulkimport.CSV, Input: in, Report: &bytes.Buffer{}, Retries: 3, Backoff: 1}, sink)
	if err != nil || p.Stored != 2 {
		t.Fatalf("progress %+v err %v, want both stored after retries", p, err)
	}
}

func TestRejectionFromTheHubIsReported(t *testing.T) {
	in := write(t, "p.csv", header+csvRow("199001012385", "A"))
	var report bytes.Buffer
	sink := sinkFunc(func(context.Context, string, map[string]any) (string, error) {
		return "", &bulkimport.Rejection{Problems: []model.FieldError{{Field: "personalIdentityNumber", Rule: "unique", Message: "exists already"}}}
	})
	p, err := bulkimport.Run(context.Background(), bulkimport.Config{Concept: person(t), Format: bulkimport.CSV, Input: in, Report: &report}, sink)
	if err != nil || p.Rejected != 1 || !strings.Contains(report.String(), `"rule":"unique"`) {
		t.Fatalf("progress %+v err %v report %s", p, err, report.String())
	}
}

type sinkFunc func(context.Context, string, map[string]any) (string, error)

func (f sinkFunc) Put(ctx context.Context, c string, fields map[string]any) (string, error) {
	return f(ctx, c, fields)
}

// importFile imports the file at in, in format, into a fresh memSink,
// failing the test if the import fails; it returns the progress, the
// sink and the report.
func importFile(t *testing.T, format bulkimport.Format, in string) (bulkimport.Progress, *memSink, string) {
	t.Helper()
	var report bytes.Buffer
	sink := &memSink{}
	p, err := bulkimport.Run(t.Context(), bulkimport.Config{Concept: person(t), Format: format, Input: in, Report: &report}, sink)
	if err != nil {
		t.Fatal(err)
	}
	return p, sink, report.String()
}
