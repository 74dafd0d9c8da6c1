package openapi

import (
	"maps"

	"github.com/samnav/samnav/pkg/sdk/apierr"
)

// ProblemMediaType is the media type of every error body (RFC 9457).
const ProblemMediaType = "application/problem+json"

// Responses names the shared error responses by HTTP status, for an
// operation's "responses": each is a Problem whose code goes with the
// status (see the Problem schema).
var Responses = map[string]string{
	"400": "BadRequest",
	"401": "Unauthorized",
	"403": "Forbidden",
	"404": "NotFound",
	"409": "Conflict",
	"410": "Gone",
	"412": "PreconditionFailed",
	"413": "ContentTooLarge",
	"415": "UnsupportedMediaType",
	"500": "Internal",
	"503": "Unavailable",
}

// ErrorResponses returns operation responses that refer to the shared
// error responses of the given statuses, e.g. ErrorResponses("400", "404").
func ErrorResponses(statuses ...string) map[string]any {
	out := map[string]any{}
	for _, s := range statuses {
		out[s] = map[string]any{"$ref": "#/components/responses/" + Responses[s]}
	}
	return out
}

// WithShared returns d with the shared components added: the Problem and
// FieldError schemas, the error responses and the bearer security
// scheme, and bearer as the default security. A component d defines
// itself is kept.
func WithShared(d Document) Document {
	out := maps.Clone(d)
	comps, _ := out["components"].(map[string]any)
	comps = maps.Clone(comps)
	if comps == nil {
		comps = map[string]any{}
	}
	for kind, defs := range shared() {
		have, _ := comps[kind].(map[string]any)
		merged := maps.Clone(defs)
		maps.Copy(merged, have)
		comps[kind] = merged
	}
	out["components"] = comps
	if _, ok := out["security"]; !ok {
		out["security"] = []any{map[string]any{"bearer": []any{}}}
	}
	return out
}

// New is a Samnav REST API's document: OpenAPI 3.1, API version 1.0.0,
// titled and described as given, with its tags, paths and schemas and the
// shared components (WithShared). It is the one frame every service's
// document is built in, so they differ only in what they describe.
func New(title, description string, tags []any, paths, schemas map[string]any) Document {
	return WithShared(Document{
		"openapi":    "3.1.0",
		"info":       map[string]any{"title": title, "version": "1.0.0", "description": description},
		"tags":       tags,
		"paths":      paths,
		"components": map[string]any{"schemas": schemas},
	})
}

func shared() map[string]map[string]any {
	responses := map[string]any{}
	for status, name := range Responses {
		responses[name] = problemResponse(status)
	}
	return map[string]map[string]any{
		"securitySchemes": {
			"bearer": map[string]any{
				"type": "http", "scheme": "bearer",
				"description": "An API token issued by the hub (`samnav tokens issue`, or the console), sent as `Authorization: Bearer <token>`. " +
					"A request without a token is anonymous and is refused by every operation that needs a principal; a token that is unknown, revoked or expired gets 401.",
			},
		},
		"schemas": {
			"Problem": map[string]any{
				"type":        "object",
				"description": "An error (RFC 9457 problem details, media type application/problem+json). `code` is one of the closed set of Samnav's error codes, and goes with the HTTP status: invalid 400 (also 413 for a body too large and 415 for a wrong content type), unauthorized 401, forbidden 403, not_found 404 (410 for a pull-feed cursor whose changes are no longer kept), conflict 409 (also 412 for a stale If-Match), unavailable 503, internal 500. Further members may follow: master data's 412 carries the record as it is now in `current`.",
				"required":    []any{"type", "title", "status", "code"},
				"properties": map[string]any{
					"type":    map[string]any{"type": "string", "format": "uri-reference", "description": "urn:samnav:problem:<code>", "examples": []any{"urn:samnav:problem:invalid"}},
					"title":   map[string]any{"type": "string", "description": "A short text for the code, the same for every problem with that code."},
					"status":  map[string]any{"type": "integer", "description": "The HTTP status of the answer."},
					"detail":  map[string]any{"type": "string", "description": "What went wrong, for a human. It never holds personal data."},
					"code":    codeSchema(),
					"fields":  map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/FieldError"}, "description": "Every field of the request that breaks a rule; absent when there is none."},
					"traceId": map[string]any{"type": "string", "description": "The W3C trace id of the request, when there is one: give it to the hub's operators."},
				},
			},
			"FieldError": map[string]any{
				"type":     "object",
				"required": []any{"field", "rule", "message"},
				"properties": map[string]any{
					"field":   map[string]any{"type": "string", "description": "The field's path in the request, e.g. `items[0].state.surname`, or a query parameter or header name.", "examples": []any{"items[0].state.surname"}},
					"rule":    map[string]any{"type": "string", "description": "The rule it breaks, e.g. required, type, format, enum, range, pattern, minLength.", "examples": []any{"required"}},
					"message": map[string]any{"type": "string", "description": "The rule in words."},
				},
			},
		},
		"responses": responses,
	}
}

var statusText = map[string]string{
	"400": "The request is invalid (code invalid): `fields` names each field and the rule it breaks. Nothing was changed.",
	"401": "No valid API token (code unauthorized). The answer carries `WWW-Authenticate: Bearer`.",
	"403": "The caller may not do this (code forbidden).",
	"404": "No such resource (code not_found).",
	"409": "The request conflicts with the resource's state (code conflict).",
	"410": "The cursor has expired (code not_found): its changes are no longer kept; take a new snapshot.",
	"412": "The If-Match revision is stale (code conflict): read the resource again and retry on its current revision.",
	"413": "The request body is too large (code invalid).",
	"415": "The request body is not JSON (code invalid).",
	"500": "The hub failed (code internal); the failure is logged with the request's trace id.",
	"503": "A dependency is unavailable (code unavailable); retry later.",
}

func problemResponse(status string) map[string]any {
	r := map[string]any{
		"description": statusText[status],
		"content": map[string]any{
			ProblemMediaType: map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}},
		},
	}
	if status == "401" {
		r["headers"] = map[string]any{"WWW-Authenticate": map[string]any{
			"description": "Bearer, with the realm.", "schema": map[string]any{"type": "string"}}}
	}
	return r
}

// codeSchema is the closed set of codes, from the one error package.
func codeSchema() map[string]any {
	codes := apierr.Codes()
	vs := make([]any, len(codes))
	for i, c := range codes {
		vs[i] = string(c)
	}
	return map[string]any{"type": "string", "enum": vs}
}
