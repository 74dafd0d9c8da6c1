// Package subscription holds Samnav's subscriptions as first-class records:
// a system asks to receive a concept for a named purpose on a legal basis,
// with the fields it needs, over one channel; the concept's information
// owner approves, narrows or rejects; every decision is kept with who and
// why. Nothing is delivered without an approved subscription.
//
// The subscription's types are the delivery API's wire types, used as the
// typed client (package client) names them (client.Subscription,
// client.Request, client.SubscriptionChange ...): the client is their one
// home, so what the server stores, encodes and the client decodes cannot
// drift apart.
package subscription
