package webhook

import (
	"context"
	"slices"
	"time"

	"github.com/samnav/samnav/services/delivery/client"
)

// EndpointStatus says whether an endpoint is sent to.
type EndpointStatus string

const (
	StatusEnabled  EndpointStatus = "enabled"
	StatusDisabled EndpointStatus = "disabled"
)

// Why an endpoint was disabled.
const (
	ReasonFailing = "failing" // prolonged failure (Config.Disable)
	ReasonGone    = "gone"    // the receiver answered 410 Gone
	ReasonOwner   = "owner"   // its owner disabled it
)

// Endpoint is where one subscription's webhooks go. There is at most one
// per subscription, keyed by its id. It is the stored form, secrets
// included; the API answers client.Endpoint, made from it in one place
// (http.go), which never holds the stored secrets.
type Endpoint struct {
	SubscriptionID string
	URL            string
	Owner          string
	Status         EndpointStatus
	DisabledReason string
	DisabledAt     time.Time
	// FailingSince is the time of the first failed attempt since the last
	// success; zero while the endpoint is healthy.
	FailingSince        time.Time
	ConsecutiveFailures int
	Secrets             []SecretVersion
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// SecretVersion is one of an endpoint's signing secrets.
type SecretVersion struct {
	ID        int64
	Secret    Secret
	CreatedAt time.Time
	// ExpiresAt is when it stops signing; zero for never.
	ExpiresAt time.Time
}

// SigningSecrets returns the secrets that sign at now, newest first.
func (e Endpoint) SigningSecrets(now time.Time) []Secret {
	vs := slices.Clone(e.Secrets)
	slices.SortFunc(vs, func(a, b SecretVersion) int { return int(b.ID - a.ID) })
	out := make([]Secret, 0, len(vs))
	for _, v := range vs {
		if v.ExpiresAt.IsZero() || now.Before(v.ExpiresAt) {
			out = append(out, v.Secret)
		}
	}
	return out
}

// MessageState is where a queued message stands.
type MessageState string

const (
	// MessagePending waits for its next attempt (or for its endpoint to be
	// enabled, or for an earlier message of its key).
	MessagePending MessageState = "pending"
	// MessageDelivered was answered with a 2xx.
	MessageDelivered MessageState = "delivered"
	// MessageFailed exhausted its retry schedule; a redelivery revives it.
	MessageFailed MessageState = "failed"
	// MessageWithheld was not sent because its subscription no longer
	// delivers (revoked); LastError says so. A redelivery tries again,
	// and withholds it again while the subscription does not deliver.
	MessageWithheld MessageState = "withheld"
)

// Message is one event queued for one endpoint. It is the stored form,
// body, trace and lease included; the API answers client.Message, made from
// it in one place (http.go).
type Message struct {
	// ID is assigned by the store on enqueue and grows with enqueue order;
	// the order of messages of one Key is the order of their IDs.
	ID             int64
	SubscriptionID string
	// EventID is the webhook-id: the same on every attempt.
	EventID string
	// Key is the record key; messages of one key are sent one at a time,
	// in ID order.
	Key  string
	Type string
	// Body is what every attempt is made from, never what it sends: the
	// Envelope of the event whose Data is the record's unprojected state
	// (nil for erased). Each attempt projects it again with the
	// subscription's current fields and the record's current protection
	// (Service.project). Stores keep it encrypted.
	Body []byte
	// Projected is set by the store on a message queued before bodies
	// held the unprojected state: its Body's Data is the projection made
	// at enqueue. It is projected again all the same; a protection marker
	// missing from it counts as protected.
	Projected bool
	// Trace is the W3C traceparent sent with every attempt, "" if none.
	Trace     string
	CreatedAt time.Time
	State     MessageState
	// Attempts made so far.
	Attempts int
	// Step is the index in the retry schedule of the next attempt.
	Step          int
	NextAttemptAt time.Time
	LastError     string
	// Manual is set by Redeliver until the next attempt, which the log
	// then marks "manual".
	Manual bool
	// LeaseToken identifies the claim of a dispatcher; set by Claim.
	LeaseToken string
}

// Attempt is one row of an endpoint's delivery log, as the API serves it;
// the typed client (package client) is its one home.
type Attempt = client.Attempt

// Outcome is what an attempt decided for its message.
type Outcome int

const (
	// OutcomeDelivered: 2xx; the message is done.
	OutcomeDelivered Outcome = iota + 1
	// OutcomeRetry: failed; try again at Result.NextAttemptAt.
	OutcomeRetry
	// OutcomeGiveUp: failed and the schedule is exhausted.
	OutcomeGiveUp
	// OutcomeGone: 410; the message stays pending and the endpoint is
	// disabled in the same transaction.
	OutcomeGone
	// OutcomeNotSent: the message was claimed but not attempted, or its
	// attempt was cut short (the dispatcher is stopping); only its lease
	// is dropped, so it can be claimed again at once. Nothing is logged.
	OutcomeNotSent
	// OutcomeWithheld: not sent, and never to be, because the message's
	// subscription no longer delivers; the message becomes
	// MessageWithheld with Attempt.Error as its LastError. Nothing is
	// logged and the endpoint's failure streak does not change.
	OutcomeWithheld
)

// Result is the end of one attempt, written by Store.Finish.
type Result struct {
	Message       Message // as claimed (ID, LeaseToken, Attempts, Step)
	Attempt       Attempt
	Outcome       Outcome
	NextAttemptAt time.Time // for OutcomeRetry
	NextStep      int       // for OutcomeRetry
}

// AttemptFilter selects delivery-log rows, newest first.
type AttemptFilter struct {
	MessageID int64 // 0 for all messages
	BeforeID  int64 // 0 for the newest; else rows with smaller ids
	Limit     int   // 0 means 100
}

// Store keeps endpoints, the durable queue and the delivery log.
//
// Contract (checked by webhooktest.RunStoreTests for every store):
//   - Methods are safe for concurrent use, also by several processes on
//     one database.
//   - Errors a caller can act on are *apierr.Error: not_found for an unknown
//     endpoint or message, conflict for a duplicate endpoint.
//   - Enqueue is idempotent on (SubscriptionID, EventID): a second enqueue
//     returns the first message and false.
//   - EnqueueBatch stores messages as Enqueue would one after the other,
//     in their order (their IDs grow in batch order), but in one
//     transaction: all of them or none. A message whose (SubscriptionID,
//     EventID) is already queued, or earlier in the same batch, is
//     skipped; an unknown endpoint refuses the whole batch (not_found).
//     Once it returns nil every message is durable.
//   - Claim returns only pending messages of enabled endpoints that are
//     due at now and not leased, and of each (endpoint, key) at most the
//     pending message with the smallest ID, and only if no other message
//     of that key is leased. Claimed messages are leased until leaseUntil
//     under a fresh LeaseToken.
//   - Finish records the attempt and, if the lease still holds, applies
//     the outcome to the message and the endpoint's failure streak (reset
//     on delivery, counted on failure), in one transaction. It returns the
//     endpoint after the update. OutcomeNotSent only drops a lease that
//     still holds: no attempt is logged, nothing else changes.
//     OutcomeWithheld, if the lease holds, makes the message withheld
//     with Attempt.Error as its last error: no attempt is logged and the
//     endpoint's failure streak is not touched.
//   - Newest returns, with its body, the message of (endpoint, key) with
//     the greatest ID, whatever its state: the latest state of the record
//     the channel was given. not_found if there is none.
//   - Bodies are stored so that reading the database does not reveal
//     them (sealed under a key kept elsewhere) and read back unchanged.
//   - FinishBatch is Finish for many attempts, applied in their order in
//     one transaction; it returns each endpoint concerned after the whole
//     batch, by subscription id.
type Store interface {
	// CreateEndpoint stores a new endpoint with its first secret.
	CreateEndpoint(ctx context.Context, ep Endpoint, first Secret) error
	// UpdateEndpointURL changes an endpoint's URL.
	UpdateEndpointURL(ctx context.Context, subscriptionID, url string, now time.Time) error
	// GetEndpoint returns an endpoint with all its secret versions.
	GetEndpoint(ctx context.Context, subscriptionID string) (Endpoint, error)
	// AddSecret adds s as the newest secret and makes every other secret
	// that would sign past oldUntil expire at oldUntil.
	AddSecret(ctx context.Context, subscriptionID string, s Secret, now, oldUntil time.Time) error
	// SetStatus enables or disables an endpoint. Enabling clears the
	// failure streak and makes every pending message of the endpoint due
	// at now with a fresh schedule (Step 0): the backlog resumes.
	SetStatus(ctx context.Context, subscriptionID string, status EndpointStatus, reason string, now time.Time) error

	// Enqueue stores m (State pending) and returns it with its ID.
	Enqueue(ctx context.Context, m Message) (Message, bool, error)
	// EnqueueBatch stores ms (see the contract above) and returns how
	// many were new.
	EnqueueBatch(ctx context.Context, ms []Message) (stored int, err error)
	// Claim leases up to limit due messages (see the contract above).
	Claim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]Message, error)
	// Finish ends an attempt (see the contract above).
	Finish(ctx context.Context, r Result) (Endpoint, error)
	// FinishBatch ends many attempts at once (see the contract above).
	FinishBatch(ctx context.Context, rs []Result) (map[string]Endpoint, error)
	// NextDue returns the earliest time the first pending message of a key
	// of an enabled endpoint becomes due or its lease ends; ok false if
	// there is none.
	NextDue(ctx context.Context) (t time.Time, ok bool, err error)
	// Newest returns the newest message of a record key of an endpoint,
	// with its body (see the contract above).
	Newest(ctx context.Context, subscriptionID, key string) (Message, error)
	// GetMessage returns one message of an endpoint, with its body.
	GetMessage(ctx context.Context, subscriptionID string, id int64) (Message, error)
	// Redeliver makes a message pending again, due at now with a fresh
	// schedule, whatever its state; its next attempt is logged "manual".
	Redeliver(ctx context.Context, subscriptionID string, id int64, now time.Time) error
	// ListAttempts returns an endpoint's delivery log, newest first.
	ListAttempts(ctx context.Context, subscriptionID string, f AttemptFilter) ([]Attempt, error)
}
