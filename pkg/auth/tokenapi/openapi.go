package tokenapi

import (
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/openapi"
)

// exampleID is the token id the document's examples use.
const exampleID = "3f9a0c2e5b7d1e84"

// Tag is the tag of the token operations.
var Tag = map[string]any{"name": "tokens", "description": "API tokens for systems and people: issued, rotated and revoked by an admin, each change kept with who and why. Only a hash of a token's secret is kept; the secret is shown once."}

// GrantSchema is the schema of an auth.Grant, which every document that
// shows grants defines identically under "Grant".
func GrantSchema() map[string]any {
	roles := make([]any, len(auth.Roles))
	for i, r := range auth.Roles {
		roles[i] = string(r)
	}
	return map[string]any{"type": "object", "required": []any{"role"}, "properties": map[string]any{
		"role":                map[string]any{"type": "string", "enum": roles},
		"concepts":            map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "The concepts a steward or owner grant covers; \"*\" is every concept."},
		"system":              openapi.Str("The system a publisher or subscriber grant acts for."),
		"protectedIdentities": map[string]any{"type": "boolean", "description": "A steward or auditor grant approved for the shielded attributes (address, contacts) of protected identities; without it every read withholds them."},
	}}
}

func idParam() map[string]any {
	return openapi.Param("id", "path", "The token's id (the public part of snv_<id>_<secret>).", true, openapi.Str(""), exampleID)
}

// Paths are the token routes' path items.
func Paths() map[string]any {
	issued := openapi.JSONAnswer("The token, and its secret in `token`: shown this once, only its hash is kept.", openapi.Ref("IssuedToken"))
	return map[string]any{
		Path: map[string]any{
			"post": openapi.Op("createToken", "tokens", "Issue a token",
				"An admin issues a token with one grant: role, and the concepts (steward, owner) or the system (publisher, subscriber) it is for. Expiry is required: `expires` is a lifetime (a Go duration such as 720h); absent, the configured default; never more than the configured maximum. Every problem with the request is refused at once, each naming its field and rule.",
				nil, openapi.Body(map[string]any{"name": "HR system", "role": "publisher", "system": "hr-system", "expires": "720h", "reason": "the HR system publishes employees"}, openapi.Ref("TokenRequest")),
				openapi.Answer("201", issued, "400", "401", "403", "500", "503")),
			"get": openapi.Op("listTokens", "tokens", "List tokens",
				"Every token, oldest first, with its grants, when it was created, expires, was last used (kept at most once a minute, so up to a minute stale) and was revoked. Never a secret or a hash.",
				nil, nil,
				openapi.Answer("200", openapi.JSONAnswer("The tokens.", openapi.Object("", map[string]any{"tokens": openapi.Array(openapi.Ref("Token"))}, "tokens")), "401", "403", "500", "503")),
		},
		Path + "/{id}/rotate": map[string]any{"parameters": []any{idParam()}, "post": openapi.Op("rotateToken", "tokens", "Rotate a token",
			"Issues a successor with the same name, subject and grants and the same lifetime from now, and keeps the old token valid for `overlap` beside it (a Go duration; absent, the configured default; at most the configured maximum; 0s ends it at once), so the system can switch without a gap. A revoked or expired token is not rotated (409).",
			nil, map[string]any{"required": false, "content": openapi.JSONContent(openapi.Ref("RotateRequest"), map[string]any{"overlap": "1h", "reason": "yearly rotation"})},
			openapi.Answer("201", issued, "400", "401", "403", "404", "409", "500", "503"))},
		Path + "/{id}/revoke": map[string]any{"parameters": []any{idParam()}, "post": openapi.Op("revokeToken", "tokens", "Revoke a token",
			"Revokes the token at once: every service refuses it from the next request. The reason is required and kept. Revoking a revoked token keeps the first time and records the new reason too.",
			nil, openapi.Body(map[string]any{"reason": "the HR system was replaced"}, openapi.Object("", map[string]any{"reason": openapi.Str("Why: required, kept in the token's history.")}, "reason")),
			openapi.Answer("200", openapi.JSONAnswer("The token after the revocation.", openapi.Ref("Token")), "400", "401", "403", "404", "500", "503"))},
		Path + "/{id}/events": map[string]any{"parameters": []any{idParam()}, "get": openapi.Op("tokenEvents", "tokens", "A token's history",
			"Who issued, rotated and revoked the token, when and why, oldest first.",
			nil, nil,
			openapi.Answer("200", openapi.JSONAnswer("The events.", openapi.Object("", map[string]any{"events": openapi.Array(openapi.Ref("TokenEvent"))}, "events")), "401", "403", "404", "500", "503"))},
	}
}

// Schemas are the schemas Paths refer to.
func Schemas() map[string]any {
	token := map[string]any{
		"id":       openapi.Str("The public id."),
		"name":     openapi.Str("What the token is for."),
		"subject":  openapi.Str("Who it acts as: the system, else the name."),
		"kind":     openapi.Enum("", string(auth.KindUser), string(auth.KindSystem)),
		"grants":   openapi.Array(openapi.Ref("Grant")),
		"created":  openapi.DateTime(""),
		"expires":  openapi.DateTime(""),
		"lastUsed": openapi.DateTime("When it last authenticated a request (written at most once a minute); absent if never."),
		"revoked":  openapi.DateTime("Absent while not revoked."),
		"active":   openapi.Typed("boolean", "Whether it authenticates now."),
	}
	issued := map[string]any{"token": openapi.Str("The secret form, snv_<id>_<secret>: shown this once.")}
	for k, v := range token {
		issued[k] = v
	}
	return map[string]any{
		"Grant":       GrantSchema(),
		"Token":       openapi.Object("An API token as an admin sees it: never its secret or hash.", token, "id", "name", "subject", "kind", "grants", "created", "active"),
		"IssuedToken": openapi.Object("A new token and, this once, its secret.", issued, "id", "name", "subject", "kind", "grants", "created", "active", "token"),
		"TokenRequest": map[string]any{"type": "object", "additionalProperties": false, "required": []any{"name", "role"}, "properties": map[string]any{
			"name":     openapi.Str("What the token is for."),
			"role":     GrantSchema()["properties"].(map[string]any)["role"],
			"concepts": map[string]any{"type": "array", "items": openapi.Str(""), "description": "For a steward or owner: the concepts, or \"*\"."},
			"system":   openapi.Str("For a publisher or subscriber: the system it acts for."),
			"subject":  openapi.Str("Who it acts as; default the system, else the name."),
			"kind":     openapi.Enum("Default system.", string(auth.KindUser), string(auth.KindSystem)),
			"expires":  openapi.Str("Lifetime, a Go duration (720h); default and maximum are configured."),
			"reason":   openapi.Str("Why, kept in the token's history."),
		}},
		"RotateRequest": map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{
			"overlap": openapi.Str("How long the old token stays valid, a Go duration; default and maximum are configured."),
			"reason":  openapi.Str("Why, kept in both tokens' history."),
		}},
		"TokenEvent": openapi.Object("A change in a token's life.", map[string]any{
			"tokenId": openapi.Str(""),
			"at":      openapi.DateTime(""),
			"action":  openapi.Enum("", string(auth.TokenIssued), string(auth.TokenRotated), string(auth.TokenRevoked)),
			"actor":   openapi.Str("Who: kind:subject (token id)."),
			"reason":  openapi.Str(""),
			"related": openapi.Str("The other token of a rotation."),
		}, "tokenId", "at", "action", "actor", "reason"),
	}
}
