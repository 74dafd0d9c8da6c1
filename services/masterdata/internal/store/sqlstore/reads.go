// The read log: record.ReadLog on the same database as the records.

package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/masterdata/client"
	"github.com/samnav/samnav/services/masterdata/record"
)

var _ record.ReadLog = (*Store)(nil)

// readColumns are md_reads' columns in the order RecordReads writes them.
const readColumns = `at, subject, credential, system, basis, subscription, reason, break_glass, concept, record_id, fields, path`

// readsPerInsert bounds one multi-row insert's rows (12 parameters each),
// well inside both databases' parameter limits.
const readsPerInsert = 500

// RecordReads implements record.ReadLog: the reads are committed before it
// returns, in one transaction (in the caller's, inside InTx).
func (s *Store) RecordReads(ctx context.Context, reads []client.Read) error {
	if len(reads) == 0 {
		return nil
	}
	return s.write(ctx, func(t *txState) error {
		for start := 0; start < len(reads); start += readsPerInsert {
			chunk := reads[start:min(start+readsPerInsert, len(reads))]
			var sb strings.Builder
			sb.WriteString(`INSERT INTO md_reads (` + readColumns + `) VALUES `)
			args := make([]any, 0, len(chunk)*12)
			for i, r := range chunk {
				fields, err := json.Marshal(r.Fields)
				if err != nil {
					return fmt.Errorf("encode read fields: %w", err)
				}
				if fields == nil || string(fields) == "null" {
					fields = []byte("[]")
				}
				if i > 0 {
					sb.WriteString(", ")
				}
				n := len(args)
				fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9, n+10, n+11, n+12)
				breakGlass := 0
				if r.BreakGlass {
					breakGlass = 1
				}
				args = append(args, r.At.UTC(), r.Subject, r.CredentialID, r.System, string(r.Basis), r.Subscription, r.Reason, breakGlass, r.Concept, r.RecordID, string(fields), string(r.Path))
			}
			if _, err := t.run.ExecContext(ctx, sb.String(), args...); err != nil {
				return unavailable("record reads", err)
			}
		}
		return nil
	})
}

// ReadsOf implements record.ReadLog.
func (s *Store) ReadsOf(ctx context.Context, concept, id string) ([]client.Read, error) {
	out, err := read(ctx, s, func(row sqldb.Scanner) (client.Read, error) {
		var r client.Read
		var at timeValue
		var basis, fields, path string
		var breakGlass int
		err := row.Scan(&r.Seq, &at, &r.Subject, &r.CredentialID, &r.System, &basis, &r.Subscription, &r.Reason, &breakGlass, &r.Concept, &r.RecordID, &fields, &path)
		if err != nil {
			return r, err
		}
		r.At, r.Basis, r.Path, r.BreakGlass = at.t, client.ReadBasis(basis), client.ReadPath(path), breakGlass != 0
		if err := json.Unmarshal([]byte(fields), &r.Fields); err != nil {
			return r, fmt.Errorf("decode read fields: %w", err)
		}
		return r, nil
	}, `SELECT seq, `+readColumns+` FROM md_reads WHERE concept = $1 AND record_id = $2 ORDER BY seq`, concept, id)
	if err != nil {
		return nil, unavailable("read the read log", err)
	}
	return out, nil
}
