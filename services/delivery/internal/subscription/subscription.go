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
)

// What is asked, decided and recorded, and a page of List.
type (
	Request  = client.Request
	Decision = client.Decision
	Action   = client.Action
	Change   = client.SubscriptionChange
	Page     = client.SubscriptionPage
)

// The statuses, as the client names them (the values of Basis and Action
// are client.Basis* and client.Action*).
const (
	StatusRequested = client.StatusRequested
	StatusApproved  = client.StatusApproved
	StatusRejected  = client.StatusRejected
	StatusRevoked   = client.StatusRevoked
)

// The channels, as the client names them.
const (
	ChannelKafka   = client.ChannelKafka
	ChannelWebhook = client.ChannelWebhook
	ChannelFeed    = client.ChannelFeed
)
