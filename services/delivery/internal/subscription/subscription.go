// Package subscription holds Samnav's subscriptions as first-class records:
// a system asks to receive a concept for a named purpose on a legal basis,
// with the fields it needs, over one channel; the concept's information
// owner approves, narrows or rejects; every decision is kept with who and
// why. Nothing is delivered without an approved subscription.
package subscription

import "time"

// Status is where a subscription stands. Only StatusApproved delivers.
type Status string

const (
	// StatusRequested waits for the information owner's decision.
	StatusRequested Status = "requested"
	// StatusApproved delivers ApprovedFields over Channel.
	StatusApproved Status = "approved"
	// StatusRejected was refused; it never delivered. Final.
	StatusRejected Status = "rejected"
	// StatusRevoked delivered once and no longer does. Final.
	StatusRevoked Status = "revoked"
)

// ChannelKind is how a subscription's events leave the hub.
type ChannelKind string

const (
	// ChannelKafka writes a compacted view topic per subscription.
	ChannelKafka ChannelKind = "kafka"
	// ChannelWebhook posts signed webhooks (Standard Webhooks).
	ChannelWebhook ChannelKind = "webhook"
	// ChannelFeed serves a cursor-based pull feed over HTTP.
	ChannelFeed ChannelKind = "feed"
)

// Basis is a lawful basis for processing under GDPR article 6(1).
type Basis string

const (
	BasisConsent             Basis = "consent"              // 6(1)(a)
	BasisContract            Basis = "contract"             // 6(1)(b)
	BasisLegalObligation     Basis = "legal_obligation"     // 6(1)(c)
	BasisVitalInterests      Basis = "vital_interests"      // 6(1)(d)
	BasisPublicTask          Basis = "public_task"          // 6(1)(e)
	BasisLegitimateInterests Basis = "legitimate_interests" // 6(1)(f)
)

// LegalBasis is the basis a subscription rests on: the article 6 basis and
// the law, regulation or decision that gives it (e.g. "Skollagen
// (2010:800) 29 kap. 1 §").
type LegalBasis struct {
	Basis     Basis  `json:"basis"`
	Reference string `json:"reference"`
}

// Subscription is one system's standing request to receive one concept.
//
// The delivery pipeline passes a copy to every Channel.Deliver call; a
// channel must not modify it. Channel-specific settings (webhook endpoints
// and secrets, feed cursors) belong to the channel, keyed by ID.
type Subscription struct {
	// ID is opaque and stable, assigned at request.
	ID string `json:"id"`
	// System is the id of the subscribing system (the principal that
	// requested it, or on whose behalf an admin did).
	System string `json:"system"`
	// Concept is the concept id (e.g. "person"); Major its contract's
	// major version, which names the state topic samnav.<concept>.v<major>.
	Concept string `json:"concept"`
	Major   int    `json:"major"`
	// Purpose says what the system uses the data for, in words.
	Purpose    string      `json:"purpose"`
	LegalBasis LegalBasis  `json:"legalBasis"`
	Channel    ChannelKind `json:"channel"`
	// RequestedFields are the top-level attributes the system asked for.
	RequestedFields []string `json:"requestedFields"`
	// ApprovedFields are the attributes it receives: a subset of
	// RequestedFields, set on approval. The record id is always delivered.
	ApprovedFields []string `json:"approvedFields,omitempty"`
	// ProtectedIdentities: the system asks to receive the shielded
	// attributes (address, contact) of persons with a protected identity.
	ProtectedIdentities bool `json:"protectedIdentities"`
	// ProtectedApproved: the owner approved ProtectedIdentities. Without
	// it every shielded attribute of a protected person is withheld.
	ProtectedApproved bool   `json:"protectedApproved"`
	Status            Status `json:"status"`
	// Version increases by one with every change; updates with a stale
	// version fail with a conflict.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Delivering reports whether s may deliver anything.
func (s Subscription) Delivering() bool { return s.Status == StatusApproved }
