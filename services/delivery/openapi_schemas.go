package delivery

import (
	"github.com/samnav/samnav/pkg/openapi"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
)

func basisNames(vs ...client.Basis) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func channels() []string {
	out := make([]string, len(subscription.Channels))
	for i, c := range subscription.Channels {
		out[i] = string(c)
	}
	return out
}

// schemas are the delivery API's bodies, as the handlers encode them.
func schemas() map[string]any {
	integer := func(desc string) map[string]any { return openapi.Typed("integer", desc) }
	fields := func(desc string) map[string]any {
		a := openapi.Array(openapi.Str(""))
		a["description"] = desc
		return a
	}
	legal := openapi.Object("The lawful basis (GDPR art. 6(1)) and the law, regulation or decision it rests on.", map[string]any{
		"basis":     openapi.Enum("", basisNames(subscription.Bases...)...),
		"reference": openapi.Str("E.g. \"Skollagen (2010:800) 29 kap. 1 §\"."),
	}, "basis", "reference")
	sub := openapi.Object("One system's standing request to receive one concept.", map[string]any{
		"id":                  openapi.Str("Opaque and stable."),
		"system":              openapi.Str("The subscribing system."),
		"concept":             openapi.Str("The concept id."),
		"major":               integer("The contract's major version: the state topic is samnav.<concept>.v<major>."),
		"purpose":             openapi.Str("What the system uses the data for."),
		"legalBasis":          openapi.Ref("LegalBasis"),
		"channel":             openapi.Enum("", channels()...),
		"requestedFields":     fields("The top-level attributes asked for."),
		"approvedFields":      fields("The attributes delivered (the record id always is); set on approval."),
		"protectedIdentities": openapi.Typed("boolean", "The system asks for the shielded attributes of persons with a protected identity."),
		"protectedApproved":   openapi.Typed("boolean", "The owner approved protectedIdentities; without it, shielded attributes of protected persons are withheld."),
		"status":              openapi.Enum("Only approved delivers.", statuses()...),
		"version":             integer("Grows by one with every change."),
		"createdAt":           openapi.DateTime(""),
		"updatedAt":           openapi.DateTime(""),
	}, "id", "system", "concept", "major", "purpose", "legalBasis", "channel", "requestedFields", "protectedIdentities", "protectedApproved", "status", "version", "createdAt", "updatedAt")
	request := openapi.Object("What a system asks for. Unknown members are refused.", map[string]any{
		"system":              openapi.Str("The subscribing system; defaults to the caller's. Only an admin may name another."),
		"concept":             openapi.Str("A concept of the model."),
		"purpose":             openapi.Str("Required: what the system uses the data for."),
		"legalBasis":          openapi.Ref("LegalBasis"),
		"channel":             openapi.Enum("", channels()...),
		"fields":              fields("Required: at least one top-level attribute of the concept."),
		"protectedIdentities": openapi.Typed("boolean", "Ask for shielded attributes of persons with a protected identity."),
		"reason":              openapi.Str("Why, for the history."),
	}, "concept", "purpose", "legalBasis", "channel", "fields")
	request["additionalProperties"] = false
	decision := openapi.Object("The owner's approval. Unknown members are refused.", map[string]any{
		"fields":              fields("The approved fields, a subset of the requested ones; absent or empty: all requested."),
		"protectedIdentities": openapi.Typed("boolean", "Approve protected identities (only when requested)."),
		"reason":              openapi.Str("Required: why, for the history."),
	}, "reason")
	decision["additionalProperties"] = false
	offset := func(desc string) map[string]any {
		return map[string]any{"type": "integer", "format": "int64", "description": desc}
	}
	item := openapi.Object("One event, a CloudEvents 1.0 JSON event whose data is the record projected to the approved fields.", map[string]any{
		"specversion":     map[string]any{"const": "1.0"},
		"id":              openapi.Str("The event id: deduplicate by it."),
		"source":          openapi.Str("/samnav/feeds/<subscription>"),
		"type":            openapi.Str("se.samnav.<concept>.<changed|ended|erased>"),
		"subject":         openapi.Str("The record's opaque id."),
		"time":            openapi.DateTime("When the master committed the change."),
		"datacontenttype": map[string]any{"const": "application/json"},
		"revision":        offset("The record's revision: drop a state older than one already held."),
		"endedat":         openapi.DateTime("Set when the record is ended."),
		"traceparent":     openapi.Str("The W3C traceparent of the change."),
		"data":            map[string]any{"type": []any{"object", "null"}, "description": "The projected record; null for an erased one."},
	}, "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "revision", "data")
	partition := openapi.Object("", map[string]any{
		"partition":         integer(""),
		"end":               offset("The log end offset."),
		"committed":         offset("The group's committed offset; -1 before its first commit."),
		"lag":               offset("Records not delivered yet (an upper bound: compaction may have removed some)."),
		"oldestUndelivered": openapi.DateTime(""),
	}, "partition", "end", "committed", "lag")
	channelLag := openapi.Object("", map[string]any{
		"channel":           openapi.Enum("", channels()...),
		"stage":             openapi.Str("What the position counts: pipeline, the events the channel accepted."),
		"topic":             openapi.Str("The concept's state topic."),
		"group":             openapi.Str("The subscription's consumer group."),
		"events":            offset("The partitions' lag summed."),
		"oldestUndelivered": openapi.DateTime(""),
		"behindSeconds":     openapi.Typed("number", "How old the oldest undelivered event is; 0 when none is."),
		"measuredAt":        openapi.DateTime(""),
		"partitions":        openapi.Array(partition),
	}, "channel", "stage", "topic", "group", "events", "behindSeconds", "measuredAt", "partitions")
	return map[string]any{
		"LegalBasis":          legal,
		"Subscription":        sub,
		"SubscriptionRequest": request,
		"Decision":            decision,
		"SubscriptionChange": openapi.Object("One entry of a subscription's history.", map[string]any{
			"seq":    integer(""),
			"at":     openapi.DateTime(""),
			"actor":  openapi.Str("The principal's subject."),
			"action": openapi.Enum("", "requested", "approved", "narrowed", "rejected", "changed", "revoked"),
			"reason": openapi.Str(""),
			"after":  openapi.Ref("Subscription"),
		}, "seq", "at", "actor", "action", "reason", "after"),
		"ACL": openapi.Object("A Kafka ACL entry.", map[string]any{
			"principal":    openapi.Str("e.g. User:skolplattform"),
			"resourceType": openapi.Enum("", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID"),
			"resourceName": openapi.Str(""),
			"patternType":  openapi.Enum("", "LITERAL", "PREFIXED"),
			"operation":    openapi.Str("READ, WRITE, DESCRIBE, CREATE, ..."),
			"permission":   openapi.Enum("", "ALLOW", "DENY"),
			"host":         openapi.Str("* for any host."),
		}, "principal", "resourceType", "resourceName", "patternType", "operation", "permission", "host"),
		"Lag": openapi.Object("How far each channel of a subscription is behind the head of the concept's state topic.", map[string]any{
			"subscription": openapi.Str(""),
			"status":       openapi.Enum("", statuses()...),
			"channels":     openapi.Array(channelLag),
			"failing":      openapi.Str("Why delivery is stopped and being retried; absent while it runs."),
		}, "subscription", "status", "channels"),
		"WebhookEndpoint": openapi.Object("A webhook endpoint; never its secrets, except the one just made.", map[string]any{
			"subscriptionId":      openapi.Str(""),
			"url":                 openapi.Str(""),
			"owner":               openapi.Str("The system that owns it."),
			"status":              openapi.Enum("", "enabled", "disabled"),
			"disabledReason":      openapi.Str(""),
			"disabledAt":          openapi.DateTime(""),
			"failingSince":        openapi.DateTime("Since when every attempt has failed."),
			"consecutiveFailures": integer(""),
			"createdAt":           openapi.DateTime(""),
			"updatedAt":           openapi.DateTime(""),
			"secret":              openapi.Str("The signing secret, whsec_<base64>: only in the answer that made it."),
			"oldUntil":            openapi.DateTime("When the replaced secrets stop signing (rotate only)."),
		}, "subscriptionId", "url", "owner", "status", "consecutiveFailures", "createdAt", "updatedAt"),
		"WebhookMessage": openapi.Object("One event queued for an endpoint.", map[string]any{
			"id":             offset("Grows with enqueue order."),
			"subscriptionId": openapi.Str(""),
			"eventId":        openapi.Str("The webhook-id: the same on every attempt."),
			"key":            openapi.Str("The record key; messages of one key go one at a time, in order."),
			"type":           openapi.Str("The event type."),
			"createdAt":      openapi.DateTime(""),
			"state":          openapi.Enum("withheld: not sent because the subscription no longer delivers (lastError says why).", "pending", "delivered", "failed", "withheld"),
			"attempts":       integer("Attempts so far."),
			"nextAttemptAt":  openapi.DateTime(""),
			"lastError":      openapi.Str(""),
		}, "id", "subscriptionId", "eventId", "key", "type", "createdAt", "state", "attempts", "nextAttemptAt"),
		"WebhookAttempt": openapi.Object("One row of the delivery log.", map[string]any{
			"id":             offset(""),
			"messageId":      offset(""),
			"subscriptionId": openapi.Str(""),
			"eventId":        openapi.Str(""),
			"n":              integer("Numbers the attempts of one message from 1."),
			"trigger":        openapi.Enum("", "scheduled", "manual"),
			"at":             openapi.DateTime(""),
			"statusCode":     integer("The receiver's HTTP status, when it answered."),
			"latencyNs":      offset("Nanoseconds."),
			"error":          openapi.Str(""),
			"response":       openapi.Str("The answer's Content-Type, Content-Length and Retry-After headers, never its body (a receiver may echo the payload)."),
		}, "id", "messageId", "subscriptionId", "eventId", "n", "trigger", "at", "latencyNs"),
		"FeedItem": item,
		"FeedSnapshotPage": openapi.Object("", map[string]any{
			"items":         openapi.Array(openapi.Ref("FeedItem")),
			"nextCursor":    openapi.Str("The next page; absent on the last."),
			"changesCursor": openapi.Str("Where /changes continues after the snapshot; the same on every page."),
		}, "items", "changesCursor"),
		"FeedChangesPage": openapi.Object("", map[string]any{
			"items":      openapi.Array(openapi.Ref("FeedItem")),
			"nextCursor": openapi.Str("Continues after the last item (the request's cursor when there are none)."),
			"more":       openapi.Typed("boolean", "More are waiting: ask again at once."),
		}, "items", "nextCursor", "more"),
		"RecentDeliveries": openapi.Object("", map[string]any{
			"deliveries": openapi.Array(openapi.Object("One event a channel accepted: written to the view topic, queued for the webhook, appended to the feed.", map[string]any{
				"seq":          offset("Orders the deliveries of this process."),
				"subscription": openapi.Str(""),
				"system":       openapi.Str(""),
				"concept":      openapi.Str(""),
				"channel":      openapi.Enum("", channels()...),
				"recordId":     openapi.Str(""),
				"eventId":      openapi.Str(""),
				"operation":    openapi.Enum("", "changed", "ended", "erased"),
				"revision":     offset(""),
				"changedAt":    openapi.DateTime("When the master committed the change."),
				"deliveredAt":  openapi.DateTime("When the channel accepted it."),
				"fields":       fields("The attributes that went, sorted."),
			}, "seq", "subscription", "system", "concept", "channel", "recordId", "eventId", "operation", "revision", "changedAt", "deliveredAt", "fields")),
			"next": map[string]any{"type": "integer", "minimum": 0, "description": "Pass as after= to get what follows."},
		}, "deliveries", "next"),
	}
}
