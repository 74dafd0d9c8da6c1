// Package subscription holds Samnav's subscriptions as first-class records:
// a system asks to receive a concept for a named purpose on a legal basis,
// with the fields it needs, over one channel; the concept's information
// owner approves, narrows or rejects; every decision is kept with who and
// why. Nothing is delivered without an approved subscription.
//
// The subscription's types are the delivery API's wire types: the typed
// client (package client) is their one home, so what the server stores,
// encodes and the client decodes cannot drift apart. Its values (statuses,
// channels, bases, actions) are used as the client names them.
package subscription

import "github.com/samnav/samnav/services/delivery/client"

// The most used wire types, by their short names here.
type (
	Subscription = client.Subscription
	ChannelKind  = client.ChannelKind
	Request      = client.Request
	Change       = client.SubscriptionChange
)
