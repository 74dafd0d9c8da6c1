// Republishing: the current state of a concept's records, again, through the outbox.

package sqlstore

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/samnav/samnav/pkg/outbox"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/masterdata/client"
)

// Republish implements record.Store. With an EntryBuilder outbox the
// records' JSON is decoded and their events built on up to GOMAXPROCS
// goroutines; the entries are appended in id order all the same.
func (s *Store) Republish(ctx context.Context, concept, after string, limit int) (string, int, error) {
	var last string
	var n int
	err := s.write(ctx, func(t *txState) error {
		q := `SELECT concept, id, revision, state, ended_at, end_reason, created_at, updated_at FROM md_records
			WHERE concept = $1 AND id > $2 AND state IS NOT NULL ORDER BY id LIMIT $3`
		raws, err := sqldb.Query(ctx, t.run, func(row sqldb.Scanner) (rawRecord, error) {
			var r rawRecord
			err := r.scan(row)
			return r, err
		}, q, concept, after, limit)
		if err != nil {
			return unavailable("read records", err)
		}
		if len(raws) == 0 {
			return nil
		}
		now := s.now().UTC()
		if s.entries != nil {
			entries, err := s.resyncEntries(ctx, concept, now, raws)
			if err != nil {
				return err
			}
			t.pending = append(t.pending, entries...)
		} else {
			for i := range raws {
				rec, err := raws[i].record()
				if err != nil {
					return unavailable("read record", err)
				}
				ch := &client.Change{Concept: concept, RecordID: rec.ID, Revision: rec.Revision, Kind: client.KindResynced, At: now, State: rec.State}
				if err := s.outbox.Append(ctx, t.run.Tx(), rec, ch); err != nil {
					return fmt.Errorf("append to outbox: %w", err)
				}
			}
		}
		n = len(raws)
		last = raws[n-1].id
		return nil
	})
	return last, n, err
}

// resyncEntries decodes raws and builds their resync events concurrently;
// entry i is raws[i]'s. The first failure (in raws' order) is returned.
func (s *Store) resyncEntries(ctx context.Context, concept string, at time.Time, raws []rawRecord) ([]outbox.Entry, error) {
	out := make([]outbox.Entry, len(raws))
	errs := make([]error, len(raws))
	const chunk = 64
	workers := min(runtime.GOMAXPROCS(0), (len(raws)+chunk-1)/chunk)
	var next sync.Mutex
	pos := 0
	claim := func() (int, int) {
		next.Lock()
		defer next.Unlock()
		lo := pos
		pos = min(pos+chunk, len(raws))
		return lo, pos
	}
	work := func() {
		for {
			lo, hi := claim()
			if lo >= hi {
				return
			}
			for i := lo; i < hi; i++ {
				rec, err := raws[i].record()
				if err != nil {
					errs[i] = unavailable("read record", err)
					continue
				}
				ch := &client.Change{Concept: concept, RecordID: rec.ID, Revision: rec.Revision, Kind: client.KindResynced, At: at, State: rec.State}
				if out[i], err = s.entries.Entry(ctx, rec, ch); err != nil {
					errs[i] = fmt.Errorf("append to outbox: %w", err)
				}
			}
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
