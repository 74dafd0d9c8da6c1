package client

import (
	"context"
	"net/http"
	"time"
)

// Read is one entry of a record's read log: one principal was shown the
// record (GET /api/v1/{concept}/{id}/reads). It names the person read only
// by the record's opaque id.
type Read struct {
	Seq          int64     `json:"seq"`
	At           time.Time `json:"at"`
	Subject      string    `json:"subject"`
	CredentialID string    `json:"credentialId,omitempty"`
	// System is the system the reader acts for, "" for a person.
	System string `json:"system,omitempty"`
	// Basis is the grant the read was allowed under: steward, auditor,
	// master, admin or break-glass.
	Basis string `json:"basis"`
	// Reason is the purpose the reader gave.
	Reason     string `json:"reason,omitempty"`
	BreakGlass bool   `json:"breakGlass,omitempty"`
	Concept    string `json:"concept"`
	RecordID   string `json:"recordId"`
	// Fields are the attributes shown, in model order.
	Fields []string `json:"fields"`
	// Path is the way the record was read: get, lookup, list, search or
	// history.
	Path string `json:"path"`
}

// ReadLog is the answer of the read log.
type ReadLog struct {
	Reads []Read `json:"reads"`
}

// Reads returns who was shown a record, oldest first: for admins and
// auditors only (403 for anyone else).
func (c *Client) Reads(ctx context.Context, concept, id string) ([]Read, error) {
	var l ReadLog
	return l.Reads, c.do(ctx, http.MethodGet, recordPath(concept, id)+"/reads", nil, nil, &l)
}
