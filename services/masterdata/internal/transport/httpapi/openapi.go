package httpapi

import (
	"fmt"
	"maps"
	"strings"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth/tokenapi"
	"github.com/samnav/samnav/pkg/openapi"
	"github.com/samnav/samnav/services/masterdata/client"
	"github.com/samnav/samnav/services/masterdata/record"
)

// OpenAPI returns the master data API's OpenAPI 3.1 document for the
// concepts of m: the routes NewHandler serves for every concept, with each
// concept's state schema and examples derived from the model. It is built
// at run time, so it is always the model the server runs.
func OpenAPI(m *model.Model) openapi.Document {
	paths := map[string]any{
		"/api/v1/whoami": map[string]any{"get": openapi.Op("whoami", "whoami", "The caller's principal",
			"Answers with the authenticated caller: subject, kind, name, token id and grants; never the token's secret. A console running apart from the hub verifies a sign-in token with it.",
			nil, nil, openapi.Answer("200", map[string]any{"description": "The caller.", "headers": map[string]any{"Cache-Control": openapi.Header("no-store")},
				"content": openapi.JSONContent(openapi.Ref("Whoami"), nil)}, "401", "500"))},
		openapi.Path: map[string]any{"get": openapi.DocumentOp("whoami")},
	}
	schemas := map[string]any{
		"Whoami": map[string]any{"type": "object", "required": []any{"subject", "kind", "grants"}, "properties": map[string]any{
			"subject":      openapi.Str("Who the caller is: a user's or a system's id."),
			"kind":         map[string]any{"type": "string", "enum": []any{"user", "system"}},
			"name":         openapi.Str("A display name."),
			"credentialId": openapi.Str("The id of the token the caller used."),
			"grants":       map[string]any{"type": "array", "items": openapi.Ref("Grant")},
		}},
		"Read": map[string]any{"type": "object", "required": []any{"seq", "at", "subject", "basis", "concept", "recordId", "fields", "path"},
			"description": "One time a record of personal data was shown to someone. The person is named only by the record's opaque id.",
			"properties": map[string]any{
				"seq":          map[string]any{"type": "integer", "format": "int64"},
				"at":           map[string]any{"type": "string", "format": "date-time"},
				"subject":      openapi.Str("Who read it."),
				"credentialId": openapi.Str("The token it used."),
				"system":       openapi.Str("The system it acts for, if any."),
				"basis":        map[string]any{"type": "string", "enum": []any{string(client.BasisSteward), string(client.BasisAuditor), string(client.BasisMaster), string(client.BasisAdmin), string(client.BasisBreakGlass), string(client.BasisSubscription)}, "description": "The grant the read was allowed under. break-glass: an admin who gave a reason, and was shown protected identities' shielded attributes. subscription: a subscriber system through its approved subscription (subscription), shown its approved fields."},
				"subscription": openapi.Str("The subscription a subscriber system read through (basis subscription)."),
				"reason":       openapi.Str("The purpose the reader gave (the Samnav-Reason header)."),
				"breakGlass":   map[string]any{"type": "boolean"},
				"concept":      openapi.Str("The concept."),
				"recordId":     openapi.Str("The record's opaque id."),
				"fields":       map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "The attributes shown."},
				"path":         map[string]any{"type": "string", "enum": []any{string(client.PathGet), string(client.PathLookup), string(client.PathList), string(client.PathSearch), string(client.PathHistory)}},
			}},
		"Actor": map[string]any{"type": "object", "required": []any{"subject", "system"}, "properties": map[string]any{
			"subject":      openapi.Str("The principal that made the change."),
			"credentialId": openapi.Str("The token it used."),
			"system":       openapi.Str("The system the change came through: samnav for the hub's own API and console, else the external master system that published it."),
		}},
		"PublishResult": map[string]any{"type": "object", "required": []any{"index", "id", "revision", "outcome"}, "properties": map[string]any{
			"index":    map[string]any{"type": "integer", "description": "The item's index in the batch."},
			"id":       openapi.Str("The record's opaque id."),
			"revision": map[string]any{"type": "integer", "format": "int64", "minimum": 1},
			"outcome":  map[string]any{"type": "string", "enum": []any{"created", "updated", "ended"}},
		}},
	}
	var tags []any
	for _, c := range m.Concepts {
		tags = append(tags, map[string]any{"name": c.ID, "description": c.Name.EN + " (" + c.Name.SV + "), mastered by " + c.Master + "."})
		maps.Copy(paths, conceptPaths(c))
		maps.Copy(schemas, conceptSchemas(c))
	}
	tags = append(tags, map[string]any{"name": "whoami", "description": "Who the caller is."}, tokenapi.Tag)
	maps.Copy(paths, tokenapi.Paths())
	maps.Copy(schemas, tokenapi.Schemas())
	return openapi.New("Samnav master data API",
		"Records of every concept of the city's concept model, each mastered by one system. "+
			"Stewards write the concepts the hub masters (master samnav); an external master system writes its concepts, and only those, through the publish API or the same record operations. "+
			"Every record has an opaque id and a revision, which is its ETag: an update names the revision it replaces in If-Match, and a stale one is refused. "+
			"A write may say why it was made in the `Samnav-Reason` header (never the query string), recorded in the history; a read's `Samnav-Reason` is its purpose, recorded in the read log. "+
			"Errors are problem details (application/problem+json).",
		tags, paths, schemas)
}

func conceptSchemas(c *model.Concept) map[string]any {
	t := model.TypeName(c.ID)
	state := map[string]any{"$ref": "#/components/schemas/" + t + "State"}
	// What a read shows: a read may withhold the attributes that locate a
	// protected person the record refers to (package record's
	// references.go), so they are not required there.
	shown, shownName := state, t+"State"
	if len(c.ProtectingReferences()) > 0 {
		shownName = t + "Shown"
		shown = map[string]any{"$ref": "#/components/schemas/" + shownName}
	}
	stateOrNull := map[string]any{"anyOf": []any{shown, map[string]any{"type": "null"}}}
	timestamp := map[string]any{"type": "string", "format": "date-time"}
	return map[string]any{
		shownName:   shownSchema(c),
		t + "State": stateSchema(c),
		t + "Record": map[string]any{"type": "object", "required": []any{"concept", "id", "revision", "state", "createdAt", "updatedAt"},
			"description": capital(an(c.ID)) + " record: its id, revision and state. The state is null once the record is erased.",
			"properties": map[string]any{
				"concept":   map[string]any{"const": c.ID},
				"id":        openapi.Str("The record's opaque id, assigned by the hub; it never carries meaning."),
				"revision":  map[string]any{"type": "integer", "format": "int64", "minimum": 1, "description": "Starts at 1 and grows by one with every change; the record's ETag."},
				"state":     stateOrNull,
				"endedAt":   timestamp,
				"endReason": map[string]any{"type": "string"},
				"createdAt": timestamp,
				"updatedAt": timestamp,
			}},
		t + "Change": map[string]any{"type": "object", "required": []any{"seq", "concept", "recordId", "revision", "kind", "at", "actor", "eventId", "state"},
			"description": "One change of " + an(c.ID) + " record: who made it, when, through which system and why, and the state after it (null after erasure, which also removes the state from every earlier change).",
			"properties": map[string]any{
				"seq":         map[string]any{"type": "integer", "format": "int64"},
				"concept":     map[string]any{"const": c.ID},
				"recordId":    openapi.Str("The record's opaque id."),
				"revision":    map[string]any{"type": "integer", "format": "int64", "minimum": 1},
				"kind":        map[string]any{"type": "string", "enum": []any{string(client.KindCreated), string(client.KindUpdated), string(client.KindEnded), string(client.KindErased)}},
				"at":          timestamp,
				"actor":       openapi.Ref("Actor"),
				"reason":      map[string]any{"type": "string"},
				"eventId":     openapi.Str("The id of the event published for the change (ce_id); subscribers deduplicate by it."),
				"state":       stateOrNull,
				"traceParent": openapi.Str("The W3C traceparent of the request that made the change."),
			}},
		t + "PublishItem": map[string]any{"type": "object", "required": []any{"op"},
			"description": "One change an external master publishes. It names its record by `id`, or by `naturalKey`, or else by the first natural-key attribute present in `state`; an upsert that names no existing record creates one.",
			"properties": map[string]any{
				"op":         map[string]any{"type": "string", "enum": []any{"upsert", "end"}, "description": "upsert creates the record or replaces its state (the master is authoritative: no If-Match); end ends it and needs a reason."},
				"id":         openapi.Str("The record's opaque id."),
				"naturalKey": map[string]any{"type": "object", "required": []any{"attribute", "value"}, "properties": map[string]any{"attribute": naturalKeyAttribute(c), "value": map[string]any{"type": "string"}}},
				"state":      state,
				"reason":     openapi.Str("Why; required for end."),
			}},
	}
}

// publicNaturalKeys are the names of c's natural keys that a GET may
// carry in its path (model.Concept.PublicNaturalKeys), as an enum.
func publicNaturalKeys(c *model.Concept) []any {
	var out []any
	for _, a := range c.PublicNaturalKeys() {
		out = append(out, a.Name)
	}
	return out
}

func naturalKeyAttribute(c *model.Concept) map[string]any {
	nks := c.NaturalKeys()
	if len(nks) == 0 {
		return map[string]any{"type": "string", "description": c.ID + " has no natural key: every lookup by one is refused (400)."}
	}
	names := make([]any, len(nks))
	for i, a := range nks {
		names[i] = a.Name
	}
	return map[string]any{"type": "string", "enum": names}
}

func conceptPaths(c *model.Concept) map[string]any {
	t := model.TypeName(c.ID)
	base := "/api/v1/" + c.ID
	rec := openapi.Ref(t + "Record")
	state := exampleState(c)
	idParam := openapi.Param("id", "path", "The record's opaque id.", true, openapi.Str(""), exampleID)
	write := []any{reasonHeader}
	recordAnswer := func(desc string, withLocation bool) map[string]any {
		h := map[string]any{"ETag": openapi.Header("The record's revision, quoted: what a later If-Match names.")}
		if withLocation {
			h["Location"] = openapi.Header("The new record's path.")
		}
		return map[string]any{"description": desc, "headers": h, "content": openapi.JSONContent(rec, nil)}
	}
	listAnswer := map[string]any{"description": "A page.", "content": openapi.JSONContent(map[string]any{"type": "object", "required": []any{"records"}, "properties": map[string]any{
		"records": map[string]any{"type": "array", "items": rec},
		"next":    openapi.Str("The cursor of the next page; absent on the last."),
	}}, nil)}
	listParams := []any{
		openapi.Param("q", "query", "Keeps records any of whose text attributes contains q, ignoring case (not identity numbers: look those up by natural key). Refused (400, rule "+RulePersonalDataInURL+") where the text attributes are personal data: search with POST /api/v1/search/"+c.ID+".", false, openapi.Str(""), nil),
		openapi.Param("limit", "query", fmt.Sprintf("Page size, 1 to %d; 0 or absent: 100.", record.MaxPageSize), false, map[string]any{"type": "integer", "minimum": 0, "maximum": record.MaxPageSize, "default": 100}, 10),
		openapi.Param("cursor", "query", "The `next` of the previous page; opaque.", false, openapi.Str(""), nil),
		openapi.Param("includeEnded", "query", "List ended records too; by default they are left out.", false, map[string]any{"type": "boolean", "default": false}, nil),
	}
	for _, a := range c.Attributes {
		if a.Type == model.Record || a.Type == model.List || a.Personal() {
			continue
		}
		listParams = append(listParams, openapi.Param(a.Name, "query", "Keeps records whose "+a.Name+" equals this value (compared as text).", false, openapi.Str(""), nil))
	}
	nks := c.NaturalKeys()
	var nkExample, nkValue any
	if len(nks) > 0 {
		nkExample, nkValue = nks[0].Name, state[nks[0].Name]
	}
	tag := []any{c.ID}
	opID := func(verb string) string { return verb + t }
	paths := map[string]any{
		base: map[string]any{
			"post": openapi.Op(opID("create"), c.ID, "Create "+an(c.ID)+" record",
				"Validates the state against the model and creates the record at revision 1. Only the concept's master may write it: a steward with a write grant for concepts mastered by samnav, else the master system.",
				write, openapi.Body(state, openapi.Ref(t+"State")),
				openapi.Answer("201", recordAnswer("Created.", true), "400", "401", "403", "404", "409", "413", "415", "500", "503")),
			"get": openapi.Op(opID("list"), c.ID, "List "+c.ID+" records",
				"A page of records in id order, filtered by attribute equality (any top-level attribute that is not a record or a list) and by q.",
				listParams, nil,
				openapi.Answer("200", listAnswer, "400", "401", "403", "404", "500", "503")),
		},
		base + "/{id}": map[string]any{
			"parameters": []any{idParam},
			"get": openapi.Op(opID("get"), c.ID, "Read "+an(c.ID)+" record", "The record, with its revision as ETag.", nil, nil,
				openapi.Answer("200", recordAnswer("The record.", false), "401", "403", "404", "500", "503")),
			"put": openapi.Op(opID("update"), c.ID, "Replace "+an(c.ID)+" record's state",
				"Replaces the whole state. If-Match must name the revision the change was made on (the ETag of the read): when the record has moved on, the update is refused and the answer carries the current revision as ETag.",
				append([]any{openapi.Param("If-Match", "header", `The revision replaced, as its ETag: "3" (W/"3" and 3 are accepted too). Required.`, true, openapi.Str(""), `"1"`)}, write...),
				openapi.Body(state, openapi.Ref(t+"State")),
				openapi.Answer("200", recordAnswer("Updated.", false), "400", "401", "403", "404", "409", "412", "413", "415", "500", "503")),
			"delete": openapi.Op(opID("erase"), c.ID, "Erase "+an(c.ID)+" record (admin)",
				"Erases the record's state, here and in every earlier change, and publishes a tombstone. Admins only. A reason is required (the Samnav-Reason header) and recorded.",
				[]any{openapi.Param(ReasonHeader, "header", "Why the record is erased: required. Never in the URL.", true, openapi.Str(""), "erasure request")}, nil, openapi.Answer("200", recordAnswer("Erased: the record with a null state.", false), "401", "403", "404", "500", "503")),
		},
		base + "/{id}/end": map[string]any{
			"parameters": []any{idParam},
			"post": openapi.Op(opID("end"), c.ID, "End "+an(c.ID)+" record",
				"Ends the record: it is kept, with its history, and still published, marked ended. The reason comes from the body, else from the Samnav-Reason header. If-Match is optional; when given, it must be the current revision.",
				append([]any{openapi.Param("If-Match", "header", "The revision ended, as its ETag; optional.", false, openapi.Str(""), nil)}, write...),
				map[string]any{"required": false, "content": openapi.JSONContent(map[string]any{"type": "object", "properties": map[string]any{"reason": openapi.Str("Why the record ends.")}}, map[string]any{"reason": "closed down"})},
				openapi.Answer("200", recordAnswer("Ended.", false), "400", "401", "403", "404", "409", "412", "413", "415", "500", "503")),
		},
		base + "/{id}/history": map[string]any{
			"parameters": []any{idParam},
			"get": openapi.Op(opID("history"), c.ID, capital(an(c.ID))+" record's history", "Every change, oldest first: who, when, through which system, why, and the state after it.", nil, nil,
				openapi.Answer("200", map[string]any{"description": "The changes.", "content": openapi.JSONContent(map[string]any{"type": "object", "required": []any{"changes"}, "properties": map[string]any{
					"changes": map[string]any{"type": "array", "items": openapi.Ref(t + "Change")}}}, nil)}, "401", "403", "404", "500", "503")),
		},
		base + "/{id}/reads": map[string]any{
			"parameters": []any{idParam},
			"get": openapi.Op(opID("reads"), c.ID, capital(an(c.ID))+" record's read log (admins, auditors)", "Every time the record was shown to someone, oldest first: who, under which grant and purpose, which attributes, through which path (get, lookup, list, search, history). Reads of concepts that hold no personal data are not recorded. For admins and auditors of the concept.", nil, nil,
				openapi.Answer("200", map[string]any{"description": "The reads.", "content": openapi.JSONContent(map[string]any{"type": "object", "required": []any{"reads"}, "properties": map[string]any{
					"reads": map[string]any{"type": "array", "items": openapi.Ref("Read")}}}, nil)}, "401", "403", "404", "500", "503")),
		},
		"/api/v1/publish/" + c.ID: map[string]any{
			"post": openapi.Op(opID("publish"), c.ID, "Publish a batch of "+c.ID+" changes (master system)",
				fmt.Sprintf("For the concept's master system (a publisher grant for system %s) only; a concept the hub masters itself (master samnav) is written by stewards, and its publish needs a publisher grant for samnav together with a steward's write grant. The batch, 1 to %d items, is checked whole first and refused whole, naming every problem by item (`items[3].state.surname`), if anything is wrong. "+
					"It is then applied in order in one transaction: all or nothing, and if an item fails (a natural key held by another record, an unknown id, an ended record ended again) the error names the item and nothing is applied. "+
					"Items see the items before them, so a batch may create a record and then update or end it by natural key. Events are published in item order.", c.Master, MaxPublishItems),
				nil, openapi.Body(map[string]any{"items": []any{map[string]any{"op": "upsert", "state": state, "reason": "nightly sync"}}},
					map[string]any{"type": "object", "required": []any{"items"}, "properties": map[string]any{
						"items": map[string]any{"type": "array", "minItems": 1, "maxItems": MaxPublishItems, "items": openapi.Ref(t + "PublishItem")}}}),
				openapi.Answer("200", map[string]any{"description": "What happened to each item, in order.", "content": openapi.JSONContent(map[string]any{"type": "object", "required": []any{"results"}, "properties": map[string]any{
					"results": map[string]any{"type": "array", "items": openapi.Ref("PublishResult")}}}, nil)}, "400", "401", "403", "404", "409", "413", "415", "500", "503")),
		},
	}
	// A concept without a natural key has no lookup by one (the route
	// answers 400 for it), so the document leaves the path out; the GET
	// lookup only for keys that are not personal data.
	if len(nks) > 0 {
		paths["/api/v1/lookup/"+c.ID] = map[string]any{
			"post": openapi.Op(opID("lookup"), c.ID, "Look up "+an(c.ID)+" record by natural key",
				"The record whose natural-key attribute has the value. The key travels in the body, so a personal key (a personnummer) never stands in a URL, where every proxy and access log would keep it.",
				nil, openapi.Body(map[string]any{"attribute": nkExample, "value": nkValue}, map[string]any{"type": "object", "required": []any{"attribute", "value"}, "properties": map[string]any{
					"attribute": naturalKeyAttribute(c), "value": map[string]any{"type": "string"}}}),
				openapi.Answer("200", recordAnswer("The record.", false), "400", "401", "403", "404", "413", "415", "500", "503")),
		}
	}
	if urlKeys := publicNaturalKeys(c); len(urlKeys) > 0 {
		paths[base+"/by/{attribute}/{value}"] = map[string]any{
			"get": openapi.Op(opID("getBy"), c.ID, "Look up "+an(c.ID)+" record by a natural key that is not personal data",
				"The record whose natural-key attribute has the value. A key that is personal data is refused (400, rule "+RulePersonalDataInURL+"): look it up with POST /api/v1/lookup/"+c.ID+".",
				[]any{openapi.Param("attribute", "path", "A natural-key attribute that is not personal data.", true, map[string]any{"type": "string", "enum": urlKeys}, urlKeys[0]),
					openapi.Param("value", "path", "Its value.", true, openapi.Str(""), state[urlKeys[0].(string)])}, nil,
				openapi.Answer("200", recordAnswer("The record.", false), "400", "401", "403", "404", "500", "503")),
		}
	}
	paths["/api/v1/search/"+c.ID] = map[string]any{
		"post": openapi.Op(opID("search"), c.ID, "Search "+c.ID+" records",
			"The list, with its query in the body: q searches the text attributes, filter keeps records whose attribute equals the value (compared as text). Use it for anything that is personal data, which a GET refuses to carry in its URL.",
			nil, openapi.Body(map[string]any{"q": "Example", "limit": 10}, map[string]any{"type": "object", "properties": map[string]any{
				"q":            openapi.Str("Keeps records any of whose text attributes contains q, ignoring case."),
				"filter":       map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}, "description": "Attribute name to value: keeps records whose top-level attribute (not a record or list) equals it."},
				"limit":        map[string]any{"type": "integer", "minimum": 0, "maximum": record.MaxPageSize, "description": "Page size; 0 or absent: 100."},
				"cursor":       openapi.Str("The `next` of the previous page; opaque."),
				"includeEnded": map[string]any{"type": "boolean", "default": false}}}),
			openapi.Answer("200", listAnswer, "400", "401", "403", "404", "413", "415", "500", "503")),
	}
	for _, item := range paths {
		for _, m := range openapi.Methods {
			if o, ok := item.(map[string]any)[m].(map[string]any); ok {
				o["tags"] = tag
			}
		}
	}
	return paths
}

var (
	reasonHeader = openapi.Param(ReasonHeader, "header", "Why the change is made; recorded in the history and shown to everyone who may read it. A reason in the query string is refused (400, rule "+RulePersonalDataInURL+").", false, openapi.Str(""), nil)
)

// an is the concept id with its indefinite article: "a unit", "an address".
func an(id string) string {
	if strings.ContainsRune("aeiou", rune(id[0])) {
		return "an " + id
	}
	return "a " + id
}

func capital(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
