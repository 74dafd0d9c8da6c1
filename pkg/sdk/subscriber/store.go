package subscriber

import (
	"context"
	"sync"
	"time"
)

// Store remembers which events a consumer group has applied, so that an
// event delivered again (Kafka delivers at least once; the hub may publish
// an event twice) is applied once.
//
// Contract (subscribertest.RunStore is the suite every implementation
// passes):
//   - Seen reports whether Mark was called for (group, eventID) and not
//     undone by Forget.
//   - Mark is idempotent: marking a marked event is not an error and keeps
//     the first mark.
//   - Forget removes the group's marks whose record time is at or after
//     from, so a replay from that time applies those events again; it
//     returns how many it removed. Other groups' marks are untouched.
//   - Methods are safe for concurrent use.
type Store interface {
	Seen(ctx context.Context, group, eventID string) (bool, error)
	Mark(ctx context.Context, group, eventID string, recordTime time.Time) error
	Forget(ctx context.Context, group string, from time.Time) (int64, error)
}

// Pruner is a Store that can drop old marks, so that it does not grow
// without bound. MemoryStore and sqlstore.Store are Pruners; Run prunes a
// Pruner every hour (Config.IdempotencyRetention).
//
// Prune removes the group's marks applied before before and returns how
// many it removed. An event whose mark was pruned is applied again if it
// is delivered again. Kafka delivers an event again only after a crash
// (records since the last commit: seconds to minutes old) or when the
// group reads the topic again from the start (ReplayFrom, a group whose
// offsets expired or were deleted, a rebuilt view topic), and then the
// compacted topic hands out each record's latest state however old: with
// its mark pruned, the handler applies it again. That is harmless for
// handlers that store the state they are given (an upsert, a delete);
// handlers with side effects (a letter sent) should keep marks longer.
type Pruner interface {
	Prune(ctx context.Context, group string, before time.Time) (int64, error)
}

// MemoryStore is a Store in memory: duplicates are removed only while the
// process lives. For tests and for handlers that are idempotent anyway.
// The zero value is ready to use.
type MemoryStore struct {
	mu    sync.Mutex
	marks map[[2]string]mark
}

type mark struct{ record, applied time.Time }

var (
	_ Store  = (*MemoryStore)(nil)
	_ Pruner = (*MemoryStore)(nil)
)

// Seen implements Store.
func (m *MemoryStore) Seen(_ context.Context, group, eventID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.marks[[2]string{group, eventID}]
	return ok, nil
}

// Mark implements Store.
func (m *MemoryStore) Mark(_ context.Context, group, eventID string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.marks == nil {
		m.marks = map[[2]string]mark{}
	}
	k := [2]string{group, eventID}
	if _, ok := m.marks[k]; !ok {
		m.marks[k] = mark{record: at, applied: time.Now()}
	}
	return nil
}

// Prune implements Pruner.
func (m *MemoryStore) Prune(_ context.Context, group string, before time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, mk := range m.marks {
		if k[0] == group && mk.applied.Before(before) {
			delete(m.marks, k)
			n++
		}
	}
	return n, nil
}

// Forget implements Store.
func (m *MemoryStore) Forget(_ context.Context, group string, from time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, mk := range m.marks {
		if k[0] == group && !mk.record.Before(from) {
			delete(m.marks, k)
			n++
		}
	}
	return n, nil
}
