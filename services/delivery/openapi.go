package delivery

import (
	"fmt"

	"github.com/samnav/samnav/pkg/openapi"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/feed"
	"github.com/samnav/samnav/services/delivery/internal/recent"
)

// exampleSubscription is the subscription id the document's examples use.
const exampleSubscription = "0190c6d8-5a1b-7c2e-9f00-0000000000b1"

// OpenAPI returns the OpenAPI 3.1 document of the delivery API (the one
// the server serves at /api/v1/openapi.json): subscriptions and their
// decisions, lag and Kafka ACLs, webhook endpoints and their delivery
// log, the pull feed and the recent deliveries.
func OpenAPI() openapi.Document {
	paths := map[string]any{}
	for p, item := range subscriptionPaths() {
		paths[p] = item
	}
	for p, item := range webhookPaths() {
		paths[p] = item
	}
	for p, item := range feedPaths() {
		paths[p] = item
	}
	paths["/api/v1/deliveries/recent"] = map[string]any{"get": openapi.Op("recentDeliveries", "deliveries", "Recent deliveries",
		"The latest deliveries of this process (a window, not a log), after a sequence number, each caller seeing only what it may: an admin or auditor every delivery, a concept's owner and stewards the concept's, a system its own. With wait, the answer is held until something newer arrives.",
		[]any{
			openapi.Param("after", "query", "The `next` of an earlier answer; 0 or absent for the oldest kept.", false, map[string]any{"type": "integer", "minimum": 0}, 0),
			openapi.Param("limit", "query", fmt.Sprintf("At most this many, 1 to %d; default %d.", recent.MaxLimit, recent.DefaultLimit), false, map[string]any{"type": "integer", "minimum": 1, "maximum": recent.MaxLimit, "default": recent.DefaultLimit}, 100),
			openapi.Param("wait", "query", fmt.Sprintf("Whole seconds, 0 to %d, to wait for a delivery newer than after when there is none.", int(recent.MaxWait.Seconds())), false, map[string]any{"type": "integer", "minimum": 0, "maximum": int(recent.MaxWait.Seconds()), "default": 0}, 0),
		}, nil,
		openapi.Answer("200", openapi.JSONAnswer("Deliveries, oldest first.", openapi.Ref("RecentDeliveries")), "400", "401"))}
	paths[openapi.Path] = map[string]any{"get": openapi.DocumentOp("subscriptions")}
	return openapi.New("Samnav delivery API",
		"Subscriptions: a system asks to receive a concept for a purpose on a legal basis, with the fields it needs, over one channel (a Kafka view topic, signed webhooks, or a pull feed); the concept's information owner approves, narrows or rejects, and every decision is kept with who and why. "+
			"Nothing is delivered without an approved subscription, and only its approved fields. Errors are problem details (application/problem+json).",
		[]any{
			map[string]any{"name": "subscriptions", "description": "Subscriptions and the owner's decisions."},
			map[string]any{"name": "webhooks", "description": "A webhook subscription's endpoint, secrets and delivery log (Standard Webhooks)."},
			map[string]any{"name": "feeds", "description": "The pull feed of a feed subscription: a snapshot, then the changes after a cursor."},
			map[string]any{"name": "deliveries", "description": "What went to whom, as it happens."},
		}, paths, schemas())
}

func idParam() map[string]any {
	return openapi.Param("id", "path", "The subscription's id.", true, openapi.Str(""), exampleSubscription)
}

func subscriptionPaths() map[string]any {
	sub := openapi.Ref("Subscription")
	subOK := openapi.JSONAnswer("The subscription.", sub)
	decision := func(id, summary, desc string, example map[string]any, schema map[string]any) map[string]any {
		return map[string]any{"parameters": []any{idParam()}, "post": openapi.Op(id, "subscriptions", summary, desc, nil, openapi.Body(example, schema),
			openapi.Answer("200", openapi.JSONAnswer("The subscription after the decision.", sub), "400", "401", "403", "404", "409", "500", "503"))}
	}
	reasonOnly := openapi.Object("", map[string]any{"reason": openapi.Str("Why: required, kept in the history.")}, "reason")
	return map[string]any{
		"/api/v1/subscriptions": map[string]any{
			"post": openapi.Op("requestSubscription", "subscriptions", "Request a subscription",
				"A system asks for itself (an admin may name another system). The request waits, status requested, for the concept's information owner. Unknown fields of the body are refused.",
				nil, openapi.Body(map[string]any{"concept": "person", "purpose": "home care visits", "channel": "feed",
					"legalBasis": map[string]any{"basis": "public_task", "reference": "Socialtjänstlagen (2001:453)"},
					"fields":     []any{"givenNames", "surname"}, "reason": "new home care system"}, openapi.Ref("SubscriptionRequest")),
				openapi.Answer("201", openapi.JSONAnswer("Requested.", sub), "400", "401", "403", "500", "503")),
			"get": openapi.Op("listSubscriptions", "subscriptions", "List subscriptions",
				"A page of the subscriptions the caller may read (an admin all, an owner or steward the concept's, a system its own), filtered; follow `next` as `cursor` for the next page. (Paging is being added: a server without it answers every match and no next.)",
				[]any{
					openapi.Param("system", "query", "Only this system's.", false, openapi.Str(""), nil),
					openapi.Param("concept", "query", "Only this concept's.", false, openapi.Str(""), "person"),
					openapi.Param("status", "query", "Only those in this status.", false, openapi.Enum("", statuses()...), nil),
					openapi.Param("limit", "query", "Page size, 1 to 1000; default 100 (when the server pages).", false, map[string]any{"type": "integer", "minimum": 1, "maximum": 1000}, nil),
					openapi.Param("cursor", "query", "The `next` of the previous page; opaque (when the server pages).", false, openapi.Str(""), nil),
				}, nil,
				openapi.Answer("200", openapi.JSONAnswer("The subscriptions.", openapi.Object("", map[string]any{
					"subscriptions": openapi.Array(sub),
					"next":          openapi.Str("The cursor of the next page; absent on the last."),
				}, "subscriptions")), "400", "401", "500", "503")),
		},
		"/api/v1/subscriptions/{id}": map[string]any{"parameters": []any{idParam()},
			"get": openapi.Op("getSubscription", "subscriptions", "Read a subscription",
				"Another system's subscription answers 404, not 403: its existence is not the caller's business.", nil, nil,
				openapi.Answer("200", subOK, "401", "404", "500", "503"))},
		"/api/v1/subscriptions/{id}/history": map[string]any{"parameters": []any{idParam()},
			"get": openapi.Op("subscriptionHistory", "subscriptions", "A subscription's history", "Every change, oldest first: who did what, when and why, and the subscription after it.", nil, nil,
				openapi.Answer("200", openapi.JSONAnswer("The changes.", openapi.Object("", map[string]any{"changes": openapi.Array(openapi.Ref("SubscriptionChange"))}, "changes")), "401", "404", "500", "503"))},
		"/api/v1/subscriptions/{id}/acls": map[string]any{"parameters": []any{idParam()},
			"get": openapi.Op("subscriptionACLs", "subscriptions", "The Kafka ACLs of a kafka subscription",
				"The ACL entries that let the system (Kafka principal User:<system>) read its view topic and nothing else of the hub's, and the kafka-acls commands that create them. Channel kafka only (400 otherwise).", nil, nil,
				openapi.Answer("200", openapi.JSONAnswer("The ACLs.", openapi.Object("", map[string]any{
					"topic":    openapi.Str("The subscription's view topic."),
					"acls":     openapi.Array(openapi.Ref("ACL")),
					"commands": openapi.Array(openapi.Str("A kafka-acls command line.")),
				}, "topic", "acls", "commands")), "400", "401", "404", "500", "503"))},
		"/api/v1/subscriptions/{id}/lag": map[string]any{"parameters": []any{idParam()},
			"get": openapi.Op("subscriptionLag", "subscriptions", "How far a subscription's delivery is behind",
				"Per channel, how many events of the concept's state topic the subscription's pipeline has not delivered, and how old the oldest is. Readable by whoever may read the subscription.", nil, nil,
				openapi.Answer("200", openapi.JSONAnswer("The lag.", openapi.Ref("Lag")), "401", "404", "500", "503"))},
		"/api/v1/subscriptions/{id}/approve": decision("approveSubscription", "Approve (or change) a subscription",
			"The concept's information owner (or an admin) approves the requested fields, or fewer (narrowing), and protected identities when requested. An approved subscription may be approved again with other fields: the change is kept as `changed`. Fields default to the requested ones.",
			map[string]any{"fields": []any{"givenNames"}, "protectedIdentities": false, "reason": "names are enough for visits"}, openapi.Ref("Decision")),
		"/api/v1/subscriptions/{id}/reject": decision("rejectSubscription", "Reject a requested subscription",
			"The owner refuses a request; final. An approved subscription is revoked instead (409).",
			map[string]any{"reason": "no legal basis for this purpose"}, reasonOnly),
		"/api/v1/subscriptions/{id}/revoke": decision("revokeSubscription", "Revoke a subscription",
			"The owner, or the subscribing system itself, stops a requested or approved subscription; final. Its deliveries stop and its view topic access is withdrawn.",
			map[string]any{"reason": "the system is retired"}, reasonOnly),
	}
}

func statuses() []string {
	return []string{string(client.StatusRequested), string(client.StatusApproved), string(client.StatusRejected), string(client.StatusRevoked)}
}

func webhookPaths() map[string]any {
	ep := openapi.JSONAnswer("The endpoint.", openapi.Ref("WebhookEndpoint"))
	errs := []string{"400", "401", "403", "404", "500", "503"}
	base := "/api/v1/subscriptions/{id}/webhook"
	msgParam := openapi.Param("msg", "path", "The message id (from the delivery log).", true, map[string]any{"type": "integer", "minimum": 1}, 1)
	noBody := func(id, summary, desc string) map[string]any {
		return map[string]any{"parameters": []any{idParam()}, "post": openapi.Op(id, "webhooks", summary, desc, nil, nil, openapi.Answer("200", ep, errs...))}
	}
	return map[string]any{
		base: map[string]any{"parameters": []any{idParam()},
			"put": openapi.Op("putWebhook", "webhooks", "Register or change a webhook endpoint",
				"For a webhook subscription, by the system that owns it or an admin. The first PUT registers the endpoint (201) and answers its signing secret, once: give one (whsec_ + base64 of 24 to 64 bytes) or let the hub make one. A later PUT changes the URL (200); the secret is kept. The URL must be https (http only where the hub allows private addresses).",
				nil, openapi.Body(map[string]any{"url": "https://hemtjanst.example.org/samnav/webhook"}, openapi.Object("", map[string]any{
					"url":    openapi.Str("Where events are POSTed."),
					"secret": openapi.Str("The signing secret to use, whsec_<base64>; only on registration. Absent: the hub makes one."),
				}, "url")),
				putAnswers(errs)),
			"get": openapi.Op("getWebhook", "webhooks", "A webhook endpoint", "The endpoint and its state; never its secrets.", nil, nil, openapi.Answer("200", ep, errs...)),
		},
		base + "/rotate": map[string]any{"parameters": []any{idParam()},
			"post": openapi.Op("rotateWebhookSecret", "webhooks", "Rotate the signing secret",
				"A new secret signs from now on; the old ones sign too until oldUntil, so a receiver can switch without losing events. The answer holds the new secret, shown once.",
				nil, map[string]any{"required": false, "content": openapi.JSONContent(openapi.Object("", map[string]any{
					"secret":         openapi.Str("The new secret, whsec_<base64>; absent: the hub makes one."),
					"overlapSeconds": map[string]any{"type": "integer", "minimum": 0, "description": "How long the old secrets keep signing; 0 or absent: the service's default."},
				}), map[string]any{"overlapSeconds": 3600})},
				openapi.Answer("200", openapi.JSONAnswer("The endpoint with the new secret and oldUntil.", openapi.Ref("WebhookEndpoint")), errs...))},
		base + "/enable":  noBody("enableWebhook", "Enable a webhook endpoint", "Resume sending, the backlog first."),
		base + "/disable": noBody("disableWebhook", "Disable a webhook endpoint", "Stop sending; events keep queueing until it is enabled."),
		base + "/attempts": map[string]any{"parameters": []any{idParam()},
			"get": openapi.Op("webhookAttempts", "webhooks", "The delivery log", "Attempts, newest first.",
				[]any{
					openapi.Param("message", "query", "Only the attempts of this message.", false, map[string]any{"type": "integer", "minimum": 0}, nil),
					openapi.Param("before", "query", "Only attempts with a smaller id: the id of the last one of the previous page.", false, map[string]any{"type": "integer", "minimum": 0}, nil),
					openapi.Param("limit", "query", "At most this many (at most 1000); 0 or absent: the service's default.", false, map[string]any{"type": "integer", "minimum": 0}, 50),
				}, nil,
				openapi.Answer("200", openapi.JSONAnswer("The attempts.", openapi.Object("", map[string]any{"attempts": openapi.Array(openapi.Ref("WebhookAttempt"))}, "attempts")), errs...))},
		base + "/messages/{msg}": map[string]any{"parameters": []any{idParam(), msgParam},
			"get": openapi.Op("webhookMessage", "webhooks", "One queued message", "Its state, attempts and next attempt.", nil, nil,
				openapi.Answer("200", openapi.JSONAnswer("The message.", openapi.Ref("WebhookMessage")), errs...))},
		base + "/messages/{msg}/redeliver": map[string]any{"parameters": []any{idParam(), msgParam},
			"post": openapi.Op("redeliverWebhookMessage", "webhooks", "Send a message again",
				"Queues the message for an attempt now, also when it was delivered, failed or withheld; it keeps its webhook-id, so the receiver can deduplicate. What is sent is the event projected again at the attempt, like every attempt: the subscription's fields as approved then and the record's protection as it is then (a person protected since is sent without the shielded fields), signed over the body sent; never the body of an earlier attempt. While the subscription is not approved the message is withheld again.", nil, nil,
				openapi.Answer("202", openapi.JSONAnswer("Queued; the message as it now stands.", openapi.Ref("WebhookMessage")), errs...))},
	}
}

func feedPaths() map[string]any {
	subParam := openapi.Param("subscription", "path", "The feed subscription's id.", true, openapi.Str(""), exampleSubscription)
	limit := openapi.Param("limit", "query", fmt.Sprintf("Items per answer, 1 to the feed's maximum (%d by default); default %d.", feed.DefaultMaxLimit, feed.DefaultLimit), false,
		map[string]any{"type": "integer", "minimum": 1, "default": feed.DefaultLimit}, 100)
	errs := []string{"400", "401", "403", "404", "500", "503"}
	headers := map[string]any{"Cache-Control": openapi.Header("no-store")}
	page := func(desc, schema string) map[string]any {
		a := openapi.JSONAnswer(desc, openapi.Ref(schema))
		a["headers"] = headers
		return a
	}
	return map[string]any{
		"/api/v1/feeds/{subscription}/snapshot": map[string]any{"parameters": []any{subParam},
			"get": openapi.Op("feedSnapshot", "feeds", "Read the feed's snapshot",
				"The current state of every record the subscription delivers, projected to its approved fields, in pages. Start without a cursor, follow nextCursor to the last page, then read /changes from changesCursor (the same on every page): a change made during the snapshot is in the changes after it. Only the subscribing system may read its feed, and only while the subscription is approved.",
				[]any{limit, openapi.Param("cursor", "query", "The nextCursor of the previous page; absent for the first page.", false, openapi.Str(""), nil)}, nil,
				openapi.Answer("200", page("A page of the snapshot.", "FeedSnapshotPage"), errs...))},
		"/api/v1/feeds/{subscription}/changes": map[string]any{"parameters": []any{subParam},
			"get": openapi.Op("feedChanges", "feeds", "Read the feed's changes after a cursor",
				"The changes after cursor, oldest first, as CloudEvents; continue from nextCursor. With wait, an answer with no changes is held until one arrives or wait passes (long polling); more=true means more are waiting: ask again at once. "+
					"A cursor whose changes are no longer kept (older than the feed's retention, or the feed was rebuilt when the subscription was narrowed or widened) answers 410 (code not_found): start again from /snapshot.",
				[]any{limit,
					openapi.Param("cursor", "query", "Required: the changesCursor of a snapshot, or the nextCursor of an earlier answer. Opaque and bound to the subscription.", true, openapi.Str(""), "changes-cursor-from-the-snapshot"),
					openapi.Param("wait", "query", fmt.Sprintf("How long to wait for a change when there is none: a duration (\"30s\", \"1m\") or whole seconds, 0 to the feed's maximum (%s by default); default 0.", feed.DefaultMaxWait), false, openapi.Str(""), "0s"),
				}, nil,
				openapi.Answer("200", page("Changes.", "FeedChangesPage"), append(errs, "410")...))},
	}
}

func putAnswers(errs []string) map[string]any {
	a := openapi.Answer("201", openapi.JSONAnswer("Registered; the answer holds the secret, shown once.", openapi.Ref("WebhookEndpoint")), errs...)
	a["200"] = openapi.JSONAnswer("The URL changed.", openapi.Ref("WebhookEndpoint"))
	return a
}
