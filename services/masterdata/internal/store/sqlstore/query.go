// Reads: one record, a page of records, a record's history.

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/masterdata/client"
	"github.com/samnav/samnav/services/masterdata/record"
)

// Get implements record.Store.
func (s *Store) Get(ctx context.Context, concept, id string) (*client.Record, error) {
	rec, err := scanRecord(s.readRow(ctx, `SELECT concept, id, revision, state, ended_at, end_reason, created_at, updated_at FROM md_records WHERE concept = $1 AND id = $2`, concept, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(concept, id)
	}
	if err != nil {
		return nil, unavailable("read record", err)
	}
	return rec, nil
}

// GetByNaturalKey implements record.Store.
func (s *Store) GetByNaturalKey(ctx context.Context, concept, attribute, value string) (*client.Record, error) {
	var id string
	err := s.readRow(ctx, `SELECT id FROM md_natural_keys WHERE concept = $1 AND attribute = $2 AND value = $3`, concept, attribute, value).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &apierr.Error{Code: apierr.CodeNotFound, Message: fmt.Sprintf("no %s has that %s", concept, attribute), Err: record.ErrNotFound}
	}
	if err != nil {
		return nil, unavailable("read natural key", err)
	}
	return s.Get(ctx, concept, id)
}

// List implements record.Store.
func (s *Store) List(ctx context.Context, concept string, q record.ListQuery) (*record.Page, error) {
	if q.Limit < 1 {
		q.Limit = 1
	}
	args := []any{concept, q.After}
	where := []string{`concept = $1`, `id > $2`}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if !q.IncludeEnded {
		where = append(where, `ended_at IS NULL`)
	}
	where = append(where, `state IS NOT NULL`)
	for _, attr := range sortedKeys(q.Filter) {
		where = append(where, s.textOf(arg, attr)+` = `+arg(q.Filter[attr]))
	}
	if q.Search != "" && len(q.SearchFields) > 0 {
		pattern := arg("%" + escapeLike(strings.ToLower(q.Search)) + "%")
		var ors []string
		for _, f := range q.SearchFields {
			ors = append(ors, `LOWER(`+s.textOf(arg, f)+`) LIKE `+pattern+` ESCAPE '\'`)
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	query := `SELECT concept, id, revision, state, ended_at, end_reason, created_at, updated_at FROM md_records WHERE ` +
		strings.Join(where, " AND ") + ` ORDER BY id LIMIT ` + arg(q.Limit+1)
	recs, err := read(ctx, s, scanRecord, query, args...)
	if err != nil {
		return nil, unavailable("list records", err)
	}
	page := &record.Page{Records: recs}
	if len(page.Records) > q.Limit {
		page.Records = page.Records[:q.Limit]
		page.Next = page.Records[q.Limit-1].ID
	}
	return page, nil
}

// textOf is the SQL expression for a top-level attribute's value as text
// ("true"/"false" for booleans, on both databases).
func (s *Store) textOf(arg func(any) string, attr string) string {
	if s.dialect == sqldb.Postgres {
		return `(state ->> ` + arg(attr) + `)`
	}
	p := arg("$." + quoteJSONKey(attr))
	return `(CASE json_type(state, ` + p + `) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(json_extract(state, ` + p + `) AS TEXT) END)`
}

func quoteJSONKey(k string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(k) + `"`
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// History implements record.Store.
func (s *Store) History(ctx context.Context, concept, id string) ([]client.Change, error) {
	if _, err := s.Get(ctx, concept, id); err != nil {
		return nil, err
	}
	out, err := read(ctx, s, func(row sqldb.Scanner) (client.Change, error) {
		var ch client.Change
		var kind string
		var at timeValue
		var state nullJSON
		err := row.Scan(&ch.Seq, &ch.Concept, &ch.RecordID, &ch.Revision, &kind, &at, &ch.Actor.Subject, &ch.Actor.CredentialID, &ch.Actor.System, &ch.Reason, &ch.EventID, &ch.TraceParent, &state)
		ch.Kind, ch.At, ch.State = client.Kind(kind), at.t, state.m
		return ch, err
	}, `SELECT seq, concept, record_id, revision, kind, at, actor_subject, actor_credential, actor_system, reason, event_id, trace_parent, state
		FROM md_changes WHERE concept = $1 AND record_id = $2 ORDER BY seq`, concept, id)
	if err != nil {
		return nil, unavailable("read history", err)
	}
	return out, nil
}
