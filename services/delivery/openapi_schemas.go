package delivery

import (
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
	integer := func(desc string) map[string]any { return typed("integer", desc) }
	fields := func(desc string) map[string]any { a := arr(str("")); a["description"] = desc; return a }
	legal := obj("The lawful basis (GDPR art. 6(1)) and the law, regulation or decision it rests on.", map[string]any{
		"basis":     enum("", basisNames(subscription.Bases...)...),
		"reference": str("E.g. \"Skollagen (2010:800) 29 kap. 1 §\"."),
	}, "basis", "reference")
	sub := obj("One system's standing request to receive one concept.", map[string]any{
		"id":                  str("Opaque and stable."),
		"system":              str("The subscribing system."),
		"concept":             str("The concept id."),
		"major":               integer("The contract's major version: the state topic is samnav.<concept>.v<major>."),
		"purpose":             str("What the system uses the data for."),
		"legalBasis":          ref("LegalBasis"),
		"channel":             enum("", channels()...),
		"requestedFields":     fields("The top-level attributes asked for."),
		"approvedFields":      fields("The attributes delivered (the record id always is); set on approval."),
		"protectedIdentities": typed("boolean", "The system asks for the shielded attributes of persons with a protected identity."),
		"protectedApproved":   typed("boolean", "The owner approved protectedIdentities; without it, shielded attributes of protected persons are withheld."),
		"status":              enum("Only approved delivers.", statuses()...),
		"version":             integer("Grows by one with every change."),
		"createdAt":           when(""),
		"updatedAt":           when(""),
	}, "id", "system", "concept", "major", "purpose", "legalBasis", "channel", "requestedFields", "protectedIdentities", "protectedApproved", "status", "version", "createdAt", "updatedAt")
	request := obj("What a system asks for. Unknown members are refused.", map[string]any{
		"system":              str("The subscribing system; defaults to the caller's. Only an admin may name another."),
		"concept":             str("A concept of the model."),
		"purpose":             str("Required: what the system uses the data for."),
		"legalBasis":          ref("LegalBasis"),
		"channel":             enum("", channels()...),
		"fields":              fields("Required: at least one top-level attribute of the concept."),
		"protectedIdentities": typed("boolean", "Ask for shielded attributes of persons with a protected identity."),
		"reason":              str("Why, for the history."),
	}, "concept", "purpose", "legalBasis", "channel", "fields")
	request["additionalProperties"] = false
	decision := obj("The owner's approval. Unknown members are refused.", map[string]any{
		"fields":              fields("The approved fields, a subset of the requested ones; absent or empty: all requested."),
		"protectedIdentities": typed("boolean", "Approve protected identities (only when requested)."),
		"reason":              str("Required: why, for the history."),
	}, "reason")
	decision["additionalProperties"] = false
	offset := func(desc string) map[string]any {
		return map[string]any{"type": "integer", "format": "int64", "description": desc}
	}
	item := obj("One event, a CloudEvents 1.0 JSON event whose data is the record projected to the approved fields.", map[string]any{
		"specversion":     map[string]any{"const": "1.0"},
		"id":              str("The event id: deduplicate by it."),
		"source":          str("/samnav/feeds/<subscription>"),
		"type":            str("se.samnav.<concept>.<changed|ended|erased>"),
		"subject":         str("The record's opaque id."),
		"time":            when("When the master committed the change."),
		"datacontenttype": map[string]any{"const": "application/json"},
		"revision":        offset("The record's revision: drop a state older than one already held."),
		"endedat":         when("Set when the record is ended."),
		"traceparent":     str("The W3C traceparent of the change."),
		"data":            map[string]any{"type": []any{"object", "null"}, "description": "The projected record; null for an erased one."},
	}, "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "revision", "data")
	partition := obj("", map[string]any{
		"partition":         integer(""),
		"end":               offset("The log end offset."),
		"committed":         offset("The group's committed offset; -1 before its first commit."),
		"lag":               offset("Records not delivered yet (an upper bound: compaction may have removed some)."),
		"oldestUndelivered": when(""),
	}, "partition", "end", "committed", "lag")
	channelLag := obj("", map[string]any{
		"channel":           enum("", channels()...),
		"stage":             str("What the position counts: pipeline, the events the channel accepted."),
		"topic":             str("The concept's state topic."),
		"group":             str("The subscription's consumer group."),
		"events":            offset("The partitions' lag summed."),
		"oldestUndelivered": when(""),
		"behindSeconds":     typed("number", "How old the oldest undelivered event is; 0 when none is."),
		"measuredAt":        when(""),
		"partitions":        arr(partition),
	}, "channel", "stage", "topic", "group", "events", "behindSeconds", "measuredAt", "partitions")
	return map[string]any{
		"LegalBasis":          legal,
		"Subscription":        sub,
		"SubscriptionRequest": request,
		"Decision":            decision,
		"SubscriptionChange": obj("One entry of a subscription's history.", map[string]any{
			"seq":    integer(""),
			"at":     when(""),
			"actor":  str("The principal's subject."),
			"action": enum("", "requested", "approved", "narrowed", "rejected", "changed", "revoked"),
			"reason": str(""),
			"after":  ref("Subscription"),
		}, "seq", "at", "actor", "action", "reason", "after"),
		"ACL": obj("A Kafka ACL entry.", map[string]any{
			"principal":    str("e.g. User:skolplattform"),
			"resourceType": enum("", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID"),
			"resourceName": str(""),
			"patternType":  enum("", "LITERAL", "PREFIXED"),
			"operation":    str("READ, WRITE, DESCRIBE, CREATE, ..."),
			"permission":   enum("", "ALLOW", "DENY"),
			"host":         str("* for any host."),
		}, "principal", "resourceType", "resourceName", "patternType", "operation", "permission", "host"),
		"Lag": obj("How far each channel of a subscription is behind the head of the concept's state topic.", map[string]any{
			"subscription": str(""),
			"status":       enum("", statuses()...),
			"channels":     arr(channelLag),
			"failing":      str("Why delivery is stopped and being retried; absent while it runs."),
		}, "subscription", "status", "channels"),
		"WebhookEndpoint": obj("A webhook endpoint; never its secrets, except the one just made.", map[string]any{
			"subscriptionId":      str(""),
			"url":                 str(""),
			"owner":               str("The system that owns it."),
			"status":              enum("", "enabled", "disabled"),
			"disabledReason":      str(""),
			"disabledAt":          when(""),
			"failingSince":        when("Since when every attempt has failed."),
			"consecutiveFailures": integer(""),
			"createdAt":           when(""),
			"updatedAt":           when(""),
			"secret":              str("The signing secret, whsec_<base64>: only in the answer that made it."),
			"oldUntil":            when("When the replaced secrets stop signing (rotate only)."),
		}, "subscriptionId", "url", "owner", "status", "consecutiveFailures", "createdAt", "updatedAt"),
		"WebhookMessage": obj("One event queued for an endpoint.", map[string]any{
			"id":             offset("Grows with enqueue order."),
			"subscriptionId": str(""),
			"eventId":        str("The webhook-id: the same on every attempt."),
			"key":            str("The record key; messages of one key go one at a time, in order."),
			"type":           str("The event type."),
			"createdAt":      when(""),
			"state":          enum("withheld: not sent because the subscription no longer delivers (lastError says why).", "pending", "delivered", "failed", "withheld"),
			"attempts":       integer("Attempts so far."),
			"nextAttemptAt":  when(""),
			"lastError":      str(""),
		}, "id", "subscriptionId", "eventId", "key", "type", "createdAt", "state", "attempts", "nextAttemptAt"),
		"WebhookAttempt": obj("One row of the delivery log.", map[string]any{
			"id":             offset(""),
			"messageId":      offset(""),
			"subscriptionId": str(""),
			"eventId":        str(""),
			"n":              integer("Numbers the attempts of one message from 1."),
			"trigger":        enum("", "scheduled", "manual"),
			"at":             when(""),
			"statusCode":     integer("The receiver's HTTP status, when it answered."),
			"latencyNs":      offset("Nanoseconds."),
			"error":          str(""),
			"response":       str("The answer's Content-Type, Content-Length and Retry-After headers, never its body (a receiver may echo the payload)."),
		}, "id", "messageId", "subscriptionId", "eventId", "n", "trigger", "at", "latencyNs"),
		"FeedItem": item,
		"FeedSnapshotPage": obj("", map[string]any{
			"items":         arr(ref("FeedItem")),
			"nextCursor":    str("The next page; absent on the last."),
			"changesCursor": str("Where /changes continues after the snapshot; the same on every page."),
		}, "items", "changesCursor"),
		"FeedChangesPage": obj("", map[string]any{
			"items":      arr(ref("FeedItem")),
			"nextCursor": str("Continues after the last item (the request's cursor when there are none)."),
			"more":       typed("boolean", "More are waiting: ask again at once."),
		}, "items", "nextCursor", "more"),
		"RecentDeliveries": obj("", map[string]any{
			"deliveries": arr(obj("One event a channel accepted: written to the view topic, queued for the webhook, appended to the feed.", map[string]any{
				"seq":          offset("Orders the deliveries of this process."),
				"subscription": str(""),
				"system":       str(""),
				"concept":      str(""),
				"channel":      enum("", channels()...),
				"recordId":     str(""),
				"eventId":      str(""),
				"operation":    enum("", "changed", "ended", "erased"),
				"revision":     offset(""),
				"changedAt":    when("When the master committed the change."),
				"deliveredAt":  when("When the channel accepted it."),
				"fields":       fields("The attributes that went, sorted."),
			}, "seq", "subscription", "system", "concept", "channel", "recordId", "eventId", "operation", "revision", "changedAt", "deliveredAt", "fields")),
			"next": map[string]any{"type": "integer", "minimum": 0, "description": "Pass as after= to get what follows."},
		}, "deliveries", "next"),
	}
}
