// Package storetest is the conformance suite every store.Store must pass.
// A backend's test calls Run with a function that opens a fresh, empty
// store; Run closes the stores it opens.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/samnav/samnav/services/registry/internal/store"
)

// Run runs the conformance suite; open opens a fresh, empty store for
// one subtest.
func Run[S store.Store](t *testing.T, open func(t *testing.T) S) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"EmptyStore", testEmpty},
		{"IDsAllocatedInOrder", testIDs},
		{"ImportedIDAdvancesCounter", testImportedID},
		{"IDsNeverReusedAfterHardDelete", testNoReuse},
		{"ConflictsDetected", testConflicts},
		{"SoftAndHardDelete", testDeletes},
		{"ConfigAndMode", testSettings},
		{"RollbackOnError", testRollback},
		{"ConcurrentUpdatesSerialised", testConcurrent},
		{"ReferencesRoundTrip", testReferences},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tt.fn(t, s)
		})
	}
}

func schema(n int) store.Schema {
	return store.Schema{Type: "AVRO", Text: fmt.Sprintf(`{"type":"fixed","name":"F%d","size":%d}`, n, n), Fingerprint: fmt.Sprintf("fp-%d", n)}
}

func insert(t *testing.T, s store.Store, subject string, version int, sc store.Schema) int {
	t.Helper()
	var id int
	err := s.Update(context.Background(), func(tx store.Tx) error {
		var err error
		if existing, e := tx.SchemaByFingerprint(context.Background(), sc.Fingerprint); e == nil {
			id = existing.ID
		} else if id, err = tx.InsertSchema(context.Background(), sc); err != nil {
			return err
		}
		return tx.InsertVersion(context.Background(), store.Version{Subject: subject, Version: version, SchemaID: id})
	})
	if err != nil {
		t.Fatalf("insert %s/%d: %v", subject, version, err)
	}
	return id
}

func testEmpty(t *testing.T, s store.Store) {
	ctx := context.Background()
	subs, err := s.Subjects(ctx, true)
	if err != nil || len(subs) != 0 || subs == nil {
		t.Fatalf("Subjects = %#v, %v; want empty non-nil slice", subs, err)
	}
	vs, err := s.Versions(ctx, "nope")
	if err != nil || len(vs) != 0 {
		t.Fatalf("Versions(nope) = %v, %v; want empty", vs, err)
	}
	if _, err := s.SchemaByID(ctx, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SchemaByID(1) error = %v; want ErrNotFound", err)
	}
	if _, err := s.Config(ctx, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Config(\"\") error = %v; want ErrNotFound", err)
	}
	if _, err := s.Mode(ctx, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Mode(x) error = %v; want ErrNotFound", err)
	}
}

func testIDs(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := insert(t, s, "a", 1, schema(1))
	b := insert(t, s, "a", 2, schema(2))
	c := insert(t, s, "b", 1, schema(1)) // same schema, other subject: same id
	if a != 1 || b != 2 || c != a {
		t.Fatalf("ids = %d, %d, %d; want 1, 2, 1", a, b, c)
	}
	got, err := s.SchemaByID(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	want := schema(2)
	want.ID = 2
	want.References = []store.Reference{}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SchemaByID(2) = %+v; want %+v", got, want)
	}
	byFP, err := s.SchemaByFingerprint(ctx, "fp-1")
	if err != nil || byFP.ID != 1 {
		t.Fatalf("SchemaByFingerprint(fp-1) = %+v, %v; want id 1", byFP, err)
	}
	uses, err := s.VersionsBySchemaID(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantUses := []store.Version{{Subject: "a", Version: 1, SchemaID: 1}, {Subject: "b", Version: 1, SchemaID: 1}}
	if !reflect.DeepEqual(uses, wantUses) {
		t.Fatalf("VersionsBySchemaID(1) = %+v; want %+v", uses, wantUses)
	}
	subs, err := s.Subjects(ctx, false)
	if err != nil || !reflect.DeepEqual(subs, []string{"a", "b"}) {
		t.Fatalf("Subjects = %v, %v; want [a b]", subs, err)
	}
}

func testImportedID(t *testing.T, s store.Store) {
	// In order: an imported id, the next allocated one, an imported id
	// below the counter, and the next allocated one after it.
	for i, step := range []struct {
		imported, want int
		what           string
	}{
		{100, 100, "imported id"},
		{0, 101, "next id after import of 100"},
		{5, 5, "imported id"},
		{0, 102, "next id after import of a lower id"},
	} {
		sc := schema(7 + i)
		sc.ID = step.imported
		if got := insert(t, s, "imp", i+1, sc); got != step.want {
			t.Fatalf("%s = %d; want %d", step.what, got, step.want)
		}
	}
}

func testNoReuse(t *testing.T, s store.Store) {
	ctx := context.Background()
	insert(t, s, "a", 1, schema(1))
	id2 := insert(t, s, "a", 2, schema(2))
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.SoftDeleteVersion(ctx, "a", 2); err != nil {
			return err
		}
		return tx.HardDeleteVersion(ctx, "a", 2)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := insert(t, s, "a", 3, schema(3)); got != id2+1 {
		t.Fatalf("id after hard delete of %d = %d; want %d", id2, got, id2+1)
	}
	// The schema row outlives its versions: its id stays bound to it.
	if sc, err := s.SchemaByID(ctx, id2); err != nil || sc.Fingerprint != "fp-2" {
		t.Fatalf("SchemaByID(%d) after hard delete = %+v, %v; want fp-2 still bound", id2, sc, err)
	}
}

func testConflicts(t *testing.T, s store.Store) {
	ctx := context.Background()
	insert(t, s, "a", 1, schema(1))
	tests := []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"same fingerprint", func(tx store.Tx) error { _, err := tx.InsertSchema(ctx, schema(1)); return err }},
		{"same id", func(tx store.Tx) error { sc := schema(2); sc.ID = 1; _, err := tx.InsertSchema(ctx, sc); return err }},
		{"same version", func(tx store.Tx) error {
			return tx.InsertVersion(ctx, store.Version{Subject: "a", Version: 1, SchemaID: 1})
		}},
	}
	for _, tt := range tests {
		if err := s.Update(ctx, tt.fn); !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: error = %v; want ErrConflict", tt.name, err)
		}
	}
}

func testDeletes(t *testing.T, s store.Store) {
	ctx := context.Background()
	insert(t, s, "a", 1, schema(1))
	insert(t, s, "a", 2, schema(2))
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.SoftDeleteVersion(ctx, "a", 1) }); err != nil {
		t.Fatal(err)
	}
	vs, err := s.Versions(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Version{{Subject: "a", Version: 1, SchemaID: 1, Deleted: true}, {Subject: "a", Version: 2, SchemaID: 2}}
	if !reflect.DeepEqual(vs, want) {
		t.Fatalf("Versions after soft delete = %+v; want %+v", vs, want)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.SoftDeleteVersion(ctx, "a", 2) }); err != nil {
		t.Fatal(err)
	}
	if subs, _ := s.Subjects(ctx, false); len(subs) != 0 {
		t.Fatalf("Subjects(false) with every version soft-deleted = %v; want none", subs)
	}
	if subs, _ := s.Subjects(ctx, true); !reflect.DeepEqual(subs, []string{"a"}) {
		t.Fatalf("Subjects(true) = %v; want [a]", subs)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.HardDeleteVersion(ctx, "a", 1) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.HardDeleteVersion(ctx, "a", 1) }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second hard delete error = %v; want ErrNotFound", err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.SoftDeleteVersion(ctx, "zz", 1) }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("soft delete of unknown version error = %v; want ErrNotFound", err)
	}
}

func testSettings(t *testing.T, s store.Store) {
	ctx := context.Background()
	err := s.Update(ctx, func(tx store.Tx) error {
		for _, f := range []func() error{
			func() error { return tx.SetConfig(ctx, "", "FULL") },
			func() error { return tx.SetConfig(ctx, "a", "NONE") },
			func() error { return tx.SetConfig(ctx, "a", "FORWARD") }, // overwrite
			func() error { return tx.SetMode(ctx, "", "READONLY") },
			func() error { return tx.SetMode(ctx, "b", "IMPORT") },
			func() error { return tx.DeleteMode(ctx, "never-set") },
		} {
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		get     func(context.Context, string) (string, error)
		subject string
		want    string
	}{{s.Config, "", "FULL"}, {s.Config, "a", "FORWARD"}, {s.Mode, "", "READONLY"}, {s.Mode, "b", "IMPORT"}} {
		if got, err := c.get(ctx, c.subject); err != nil || got != c.want {
			t.Errorf("setting of %q = %q, %v; want %q", c.subject, got, err, c.want)
		}
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteConfig(ctx, "a") }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Config(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Config(a) after delete error = %v; want ErrNotFound", err)
	}
}

func testRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx store.Tx) error {
		id, err := tx.InsertSchema(ctx, schema(1))
		if err != nil {
			return err
		}
		if err := tx.InsertVersion(ctx, store.Version{Subject: "a", Version: 1, SchemaID: id}); err != nil {
			return err
		}
		if err := tx.SetConfig(ctx, "a", "NONE"); err != nil {
			return err
		}
		return boom
	})
	if err != boom { //nolint:errorlint // the contract is that fn's error comes back unchanged
		t.Fatalf("Update error = %v; want fn's error unchanged", err)
	}
	if _, err := s.SchemaByID(ctx, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("schema visible after rollback: %v", err)
	}
	if _, err := s.Config(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("config visible after rollback: %v", err)
	}
	// The id counter rolled back too.
	if got := insert(t, s, "a", 1, schema(2)); got != 1 {
		t.Fatalf("first id after a rolled-back insert = %d; want 1", got)
	}
}

func testConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Read-modify-write of the next version: only safe if Updates
			// are serialised.
			errs <- s.Update(ctx, func(tx store.Tx) error {
				vs, err := tx.Versions(ctx, "c")
				if err != nil {
					return err
				}
				id, err := tx.InsertSchema(ctx, schema(100+i))
				if err != nil {
					return err
				}
				return tx.InsertVersion(ctx, store.Version{Subject: "c", Version: len(vs) + 1, SchemaID: id})
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent update: %v", err)
		}
	}
	vs, err := s.Versions(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for i, v := range vs {
		if v.Version != i+1 || seen[v.SchemaID] {
			t.Fatalf("versions after concurrent registration = %+v; want 1..%d with distinct ids", vs, n)
		}
		seen[v.SchemaID] = true
	}
	if len(vs) != n {
		t.Fatalf("got %d versions; want %d", len(vs), n)
	}
}

func testReferences(t *testing.T, s store.Store) {
	ctx := context.Background()
	sc := schema(1)
	sc.References = []store.Reference{{Name: "com.x.Address", Subject: "address", Version: 3}}
	id := insert(t, s, "a", 1, sc)
	got, err := s.SchemaByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.References, sc.References) {
		t.Fatalf("References = %+v; want %+v", got.References, sc.References)
	}
}
