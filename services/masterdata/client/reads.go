package client

import (
	"context"
	"net/http"
	"time"
)

// ReadBasis is the grant a read was allowed under.
type ReadBasis string

const (
	// BasisSteward: a steward grant for the concept.
	BasisSteward ReadBasis = "steward"
	// BasisAuditor: an auditor grant.
	BasisAuditor ReadBasis = "auditor"
	// BasisMaster: the concept's master system reading what it masters.
	BasisMaster ReadBasis = "master"
	// BasisAdmin: an admin grant, without a reason: protected identities
	// stay shielded.
	BasisAdmin ReadBasis = "admin"
	// BasisBreakGlass: an admin grant with a reason: everything is shown,
	// protected identities included, and the read is flagged.
	BasisBreakGlass ReadBasis = "break-glass"
)

// ReadPath is the way a record was read.
type ReadPath string

const (
	PathGet     ReadPath = "get"
	PathLookup  ReadPath = "lookup"
	PathList    ReadPath = "list"
	PathSearch  ReadPath = "search"
	PathHistory ReadPath = "history"
)

// Read is one entry of a record's read log: one principal was shown one
// record of personal data (GET /api/v1/{concept}/{id}/reads). It names the
// person only by the record's opaque id.
type Read struct {
	Seq          int64     `json:"seq"`
	At           time.Time `json:"at"`
	Subject      string    `json:"subject"`
	CredentialID string    `json:"credentialId,omitempty"`
	// System is the system the reader acts for, "" for a person.
	System string    `json:"system,omitempty"`
	Basis  ReadBasis `json:"basis"`
	// Subscription is the subscription a BasisSubscription read went
	// through.
	Subscription string `json:"subscription,omitempty"`
	// Reason is the purpose the reader gave (the Samnav-Reason header).
	Reason     string `json:"reason,omitempty"`
	BreakGlass bool   `json:"breakGlass,omitempty"`
	Concept    string `json:"concept"`
	RecordID   string `json:"recordId"`
	// Fields are the attributes shown, in model order.
	Fields []string `json:"fields"`
	Path   ReadPath `json:"path"`
}

// BasisSubscription is the basis of a subscriber system reading through
// its approved subscription, projected to the subscription's approved
// fields.
const BasisSubscription ReadBasis = "subscription"

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
