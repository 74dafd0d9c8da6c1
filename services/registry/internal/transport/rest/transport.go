// Package rest serves the schema registry over the Confluent Schema
// Registry REST API: decode → endpoint → encode, with one encodeError
// mapping every failure to Confluent's status codes and error bodies. No
// registry rule lives here.
package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/samnav/samnav/services/registry/internal/schemas"
)

// ContentType is the media type of every response.
const ContentType = "application/vnd.schemaregistry.v1+json"

// maxBody bounds a request body; a schema larger than this is refused.
const maxBody = 8 << 20

// Authorizer decides whether a request may change the registry.
type Authorizer interface {
	// AuthorizeWrite returns nil when r may write, an error otherwise.
	AuthorizeWrite(r *http.Request) error
}

// NewHandler returns the API's http.Handler. Requests that change the
// registry (register, PUT, DELETE) must pass auth; reads, lookups
// (POST /subjects/{s}) and compatibility checks change nothing and are open.
func NewHandler(svc schemas.Service, auth Authorizer, log *slog.Logger) http.Handler {
	e := MakeEndpoints(svc)
	h := &handler{mux: http.NewServeMux(), auth: auth, log: log}
	h.route("GET /{$}", func(context.Context, any) (any, error) { return struct{}{}, nil }, decodeNothing, false)
	h.route("GET /subjects", e.Subjects, decodeList, false)
	h.route("GET /subjects/{subject}/versions", e.Versions, decodeList, false)
	h.route("GET /subjects/{subject}/versions/{version}", e.SubjectVersion, decodeVersion, false)
	h.route("GET /subjects/{subject}/versions/{version}/schema", e.SubjectVersionSchema, decodeVersion, false)
	h.route("POST /subjects/{subject}/versions", e.Register, decodeSchema, true)
	h.route("POST /subjects/{subject}", e.Lookup, decodeSchema, false)
	h.route("DELETE /subjects/{subject}", e.DeleteSubject, decodeDelete, true)
	h.route("DELETE /subjects/{subject}/versions/{version}", e.DeleteVersion, decodeDelete, true)
	h.route("GET /schemas/ids/{id}", e.SchemaByID, decodeID, false)
	h.route("GET /schemas/ids/{id}/schema", e.SchemaByIDRaw, decodeID, false)
	h.route("GET /schemas/ids/{id}/subjects", e.SubjectsByID, decodeID, false)
	h.route("GET /schemas/ids/{id}/versions", e.VersionsByID, decodeID, false)
	h.route("GET /schemas/types", e.Types, decodeNothing, false)
	h.route("POST /compatibility/subjects/{subject}/versions/{version}", e.Compatibility, decodeCompat, false)
	h.route("POST /compatibility/subjects/{subject}/versions", e.Compatibility, decodeCompat, false)
	for _, prefix := range []string{"/config", "/config/{subject}"} {
		h.route("GET "+prefix, e.GetConfig, decodeSetting("compatibility"), false)
		h.route("PUT "+prefix, e.PutConfig, decodeSetting("compatibility"), true)
		h.route("DELETE "+prefix, e.DeleteConfig, decodeSetting(""), true)
	}
	for _, prefix := range []string{"/mode", "/mode/{subject}"} {
		h.route("GET "+prefix, e.GetMode, decodeSetting("mode"), false)
		h.route("PUT "+prefix, e.PutMode, decodeSetting("mode"), true)
		h.route("DELETE "+prefix, e.DeleteMode, decodeSetting(""), true)
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &schemas.Error{Code: http.StatusNotFound, Message: "HTTP 404 Not Found"})
	})
	return h.mux
}

type handler struct {
	mux  *http.ServeMux
	auth Authorizer
	log  *slog.Logger
}

func (h *handler) route(pattern string, e endpoint.Endpoint, dec kithttp.DecodeRequestFunc, write bool) {
	server := kithttp.NewServer(e, dec, encodeResponse, kithttp.ServerErrorEncoder(h.encodeError))
	if !write {
		h.mux.Handle(pattern, server)
		return
	}
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h.auth.AuthorizeWrite(r); err != nil {
			writeError(w, refusal(w, err))
			return
		}
		server.ServeHTTP(w, r)
	})
}

// refusal is the answer to a write the authorizer refused: 403 (40301,
// Confluent's "user is denied operation") when the caller was recognised
// but may not write — the error says so with an HTTP status of 403 — and
// 401 with a challenge otherwise, so a client with a valid credential
// does not retry its login.
func refusal(w http.ResponseWriter, err error) *schemas.Error {
	var st interface{ HTTPStatus() int }
	if errors.As(err, &st) && st.HTTPStatus() == http.StatusForbidden {
		return &schemas.Error{Code: schemas.CodeForbidden, Message: "Forbidden: " + err.Error()}
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="samnav-registry", Bearer`)
	return &schemas.Error{Code: schemas.CodeUnauthorized, Message: "Unauthorized: " + err.Error()}
}

// encodeError is the one place failures become HTTP: an *schemas.Error
// keeps its Confluent code; anything else is a 50001 store error, logged
// here (and only here) with its cause.
func (h *handler) encodeError(ctx context.Context, err error, w http.ResponseWriter) {
	e, ok := schemas.AsError(err)
	if !ok {
		e = &schemas.Error{Code: schemas.CodeStoreError, Message: "Error in the backend data store"}
	}
	if e.Status() >= 500 {
		h.log.ErrorContext(ctx, "request failed", "error_code", e.Code, "err", err)
	}
	writeError(w, e)
}

func writeError(w http.ResponseWriter, e *schemas.Error) {
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(e.Status())
	_ = json.NewEncoder(w).Encode(struct {
		ErrorCode int    `json:"error_code"`
		Message   string `json:"message"`
	}{e.Code, e.Message})
}

func encodeResponse(_ context.Context, w http.ResponseWriter, resp any) error {
	w.Header().Set("Content-Type", ContentType)
	if raw, ok := resp.(rawSchema); ok {
		_, err := w.Write([]byte(raw))
		return err
	}
	return json.NewEncoder(w).Encode(resp)
}

func flag(r *http.Request, name string) bool {
	v, _ := strconv.ParseBool(r.URL.Query().Get(name))
	return v
}

func decodeNothing(context.Context, *http.Request) (any, error) { return nil, nil }

func decodeList(_ context.Context, r *http.Request) (any, error) {
	return listRequest{subject: r.PathValue("subject"), deleted: flag(r, "deleted")}, nil
}

func decodeVersion(_ context.Context, r *http.Request) (any, error) {
	return versionRequest{subject: r.PathValue("subject"), version: r.PathValue("version"), deleted: flag(r, "deleted")}, nil
}

func decodeID(_ context.Context, r *http.Request) (any, error) {
	raw := r.PathValue("id")
	id, err := strconv.Atoi(raw)
	if err != nil || id < 1 {
		return nil, &schemas.Error{Code: schemas.CodeSchemaNotFound, Message: fmt.Sprintf("Schema %s not found: id must be a positive integer", raw)}
	}
	return idRequest{id: id, deleted: flag(r, "deleted")}, nil
}

func decodeSchema(_ context.Context, r *http.Request) (any, error) {
	var body schemaBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	return schemaRequest{subject: r.PathValue("subject"), deleted: flag(r, "deleted"), body: body}, nil
}

func decodeCompat(_ context.Context, r *http.Request) (any, error) {
	var body schemaBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	return compatRequest{subject: r.PathValue("subject"), version: r.PathValue("version"), verbose: flag(r, "verbose"), body: body}, nil
}

func decodeDelete(_ context.Context, r *http.Request) (any, error) {
	return deleteRequest{subject: r.PathValue("subject"), version: r.PathValue("version"), permanent: flag(r, "permanent")}, nil
}

// decodeSetting decodes config and mode requests; field is the JSON field
// a PUT body carries the value in ("" for requests without a body).
func decodeSetting(field string) kithttp.DecodeRequestFunc {
	return func(_ context.Context, r *http.Request) (any, error) {
		req := settingRequest{subject: r.PathValue("subject"), defaultToGlobal: flag(r, "defaultToGlobal"), force: flag(r, "force")}
		if r.Method != http.MethodPut {
			return req, nil
		}
		var body map[string]json.RawMessage
		if err := decodeBody(r, &body); err != nil {
			return nil, err
		}
		raw, ok := body[field]
		if !ok && field == "compatibility" {
			raw, ok = body["compatibilityLevel"]
		}
		if !ok || json.Unmarshal(raw, &req.value) != nil {
			code := schemas.CodeInvalidCompatibility
			if field == "mode" {
				code = schemas.CodeInvalidMode
			}
			return nil, &schemas.Error{Code: code, Message: fmt.Sprintf("field %q is required and must be a string", field)}
		}
		return req, nil
	}
}

// acceptedContentTypes are the request media types Confluent accepts. An
// absent Content-Type is accepted too.
var acceptedContentTypes = map[string]bool{
	"application/vnd.schemaregistry.v1+json": true,
	"application/vnd.schemaregistry+json":    true,
	"application/json":                       true,
	"application/octet-stream":               true,
}

func decodeBody(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !acceptedContentTypes[strings.ToLower(mt)] {
			return &schemas.Error{Code: schemas.CodeUnsupportedMediaType, Message: fmt.Sprintf("HTTP 415 Unsupported Media Type: Content-Type %q is not one of application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json", ct)}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &schemas.Error{Code: schemas.CodeBadRequest, Message: fmt.Sprintf("request body is larger than %d bytes", maxBody)}
		}
		return &schemas.Error{Code: schemas.CodeBadRequest, Message: fmt.Sprintf("request body is not valid JSON: %v", err)}
	}
	return nil
}
