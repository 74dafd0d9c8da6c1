package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/services/masterdata/client"
	"github.com/samnav/samnav/services/masterdata/record"
)

// testReadLog: a store that is a record.ReadLog keeps every read, with
// every field, in order, per record; a page larger than one insert is kept
// whole.
func testReadLog(t *testing.T, m *model.Model, h Harness) {
	s, _ := h(t, m, nil)
	rl, ok := s.(record.ReadLog)
	if !ok {
		t.Skip("the store keeps no read log")
	}
	ctx := context.Background()
	at := time.Date(2026, 12, 7, 10, 0, 0, 123000000, time.UTC)
	want := []client.Read{
		{At: at, Subject: "greta", CredentialID: "tok-1", Basis: client.BasisSteward, Reason: "yearly review", Concept: "person", RecordID: "p-1", Fields: []string{"givenNames", "surname"}, Path: client.PathGet},
		{At: at.Add(time.Second), Subject: "admin", Basis: client.BasisBreakGlass, Reason: "court order", BreakGlass: true, Concept: "person", RecordID: "p-1", Fields: []string{}, Path: client.PathHistory},
		{At: at, Subject: "hr", System: "hr-system", Basis: client.BasisMaster, Concept: "person", RecordID: "p-2", Fields: []string{"surname"}, Path: client.PathList},
	}
	if err := rl.RecordReads(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := rl.ReadsOf(ctx, "person", "p-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq == 0 || got[1].Seq <= got[0].Seq {
		t.Fatalf("reads of p-1: %+v", got)
	}
	for i := range got {
		got[i].Seq = 0
		if !got[i].At.Equal(want[i].At) {
			t.Errorf("read %d at %v, want %v", i, got[i].At, want[i].At)
		}
		got[i].At = want[i].At
		if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
			t.Errorf("read %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if other, err := rl.ReadsOf(ctx, "employee", "p-1"); err != nil || len(other) != 0 {
		t.Errorf("another concept's reads of the same id: %v %v", other, err)
	}

	page := make([]client.Read, 1200)
	for i := range page {
		page[i] = client.Read{At: at, Subject: "s", Basis: client.BasisAuditor, Concept: "employee", RecordID: fmt.Sprintf("e-%d", i%600), Fields: []string{"x"}, Path: client.PathList}
	}
	if err := rl.RecordReads(ctx, page); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"e-0", "e-599"} {
		got, err := rl.ReadsOf(ctx, "employee", id)
		if err != nil || len(got) != 2 || !slices.Equal(got[0].Fields, []string{"x"}) {
			t.Errorf("reads of %s after a page of 1200: %d %v", id, len(got), err)
		}
	}
}
