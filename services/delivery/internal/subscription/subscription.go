// Package subscription holds Samnav's subscriptions as first-class records:
// a system asks to receive a concept for a named purpose on a legal basis,
// with the fields it needs, over one channel; the concept's information
// owner approves, narrows or rejects; every decision is kept with who and
// why. Nothing is delivered without an approved subscription.
package subscription

import "github.com/samnav/samnav/services/delivery/client"

// The subscription's types are the delivery API's wire types: the typed
// client (package client) is their one home, so what the server stores,
// encodes and the client decodes cannot drift apart.
type (
	Subscription = client.Subscription
	LegalBasis   = client.LegalBasis
	Status       = client.Status
	ChannelKind  = client.ChannelKind
	Basis        = client.Basis
	Request      = client.Request
	Decision     = client.Decision
	Action       = client.Action
	// Change is one entry of a subscription's history.
	Change = client.SubscriptionChange
	// Page is one page of Service.List.
	Page = client.SubscriptionPage
)

// The values of Status, ChannelKind, Basis and Action, as the client names
// them.
const (
	StatusRequested = client.StatusRequested
	StatusApproved  = client.StatusApproved
	StatusRejected  = client.StatusRejected
	StatusRevoked   = client.StatusRevoked

	ChannelKafka   = client.ChannelKafka
	ChannelWebhook = client.ChannelWebhook
	ChannelFeed    = client.ChannelFeed

	BasisConsent             = client.BasisConsent
	BasisContract            = client.BasisContract
	BasisLegalObligation     = client.BasisLegalObligation
	BasisVitalInterests      = client.BasisVitalInterests
	BasisPublicTask          = client.BasisPublicTask
	BasisLegitimateInterests = client.BasisLegitimateInterests

	ActionRequested = client.ActionRequested
	ActionApproved  = client.ActionApproved
	ActionNarrowed  = client.ActionNarrowed
	ActionRejected  = client.ActionRejected
	ActionChanged   = client.ActionChanged
	ActionRevoked   = client.ActionRevoked
)
