package openapi

// Builders of the parts of a document that every Samnav API spells the
// same way. They return plain maps, ready to go into a Document.

// Op is an operation: its id, tag, summary and description, parameters
// (nil for none), request body (nil for none) and responses.
func Op(id, tag, summary, desc string, params []any, body map[string]any, responses map[string]any) map[string]any {
	o := map[string]any{"operationId": id, "tags": []any{tag}, "summary": summary, "description": desc, "responses": responses}
	if params != nil {
		o["parameters"] = params
	}
	if body != nil {
		o["requestBody"] = body
	}
	return o
}

// Public marks o as needing no token.
func Public(o map[string]any) map[string]any {
	o["security"] = []any{}
	return o
}

// Answer is a response of status with the shared error responses of errs
// beside it.
func Answer(status string, success map[string]any, errs ...string) map[string]any {
	out := ErrorResponses(errs...)
	out[status] = success
	return out
}

// JSONAnswer is a success response with a JSON body of schema.
func JSONAnswer(desc string, schema map[string]any) map[string]any {
	return map[string]any{"description": desc, "content": JSONContent(schema, nil)}
}

// Param is a parameter in path, query or header; example may be nil.
func Param(name, in, desc string, required bool, schema map[string]any, example any) map[string]any {
	p := map[string]any{"name": name, "in": in, "description": desc, "required": required, "schema": schema}
	if example != nil {
		p["example"] = example
	}
	return p
}

// Body is a required JSON request body of schema, with its example.
func Body(example any, schema map[string]any) map[string]any {
	return map[string]any{"required": true, "content": JSONContent(schema, example)}
}

// JSONContent is an application/json content map; example may be nil.
func JSONContent(schema map[string]any, example any) map[string]any {
	c := map[string]any{"schema": schema}
	if example != nil {
		c["example"] = example
	}
	return map[string]any{"application/json": c}
}

// Ref refers to the schema component name.
func Ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

// Str is a string schema with a description ("" for none).
func Str(desc string) map[string]any {
	s := map[string]any{"type": "string"}
	if desc != "" {
		s["description"] = desc
	}
	return s
}

// Header is a response header of type string.
func Header(desc string) map[string]any {
	return map[string]any{"description": desc, "schema": map[string]any{"type": "string"}}
}

// Object is an object schema of props with the required ones named.
func Object(desc string, props map[string]any, required ...string) map[string]any {
	s := map[string]any{"type": "object", "properties": props}
	if desc != "" {
		s["description"] = desc
	}
	if len(required) > 0 {
		r := make([]any, len(required))
		for i, n := range required {
			r[i] = n
		}
		s["required"] = r
	}
	return s
}

// Array is an array schema of items.
func Array(items map[string]any) map[string]any {
	return map[string]any{"type": "array", "items": items}
}

// Typed is a schema of one JSON type with a description ("" for none).
func Typed(typ, desc string) map[string]any {
	s := map[string]any{"type": typ}
	if desc != "" {
		s["description"] = desc
	}
	return s
}

// Enum is a string schema with the given values.
func Enum(desc string, values ...string) map[string]any {
	vs := make([]any, len(values))
	for i, v := range values {
		vs[i] = v
	}
	s := map[string]any{"type": "string", "enum": vs}
	if desc != "" {
		s["description"] = desc
	}
	return s
}

// DateTime is an RFC 3339 timestamp schema.
func DateTime(desc string) map[string]any {
	s := Str(desc)
	s["format"] = "date-time"
	return s
}

// DocumentOp is the operation that serves the document itself.
func DocumentOp(tag string) map[string]any {
	return Public(Op("openapi", tag, "This document",
		"The OpenAPI 3.1 document of the API served on this port. It needs no token.",
		nil, nil, Answer("200", JSONAnswer("The document.", map[string]any{"type": "object"}))))
}
