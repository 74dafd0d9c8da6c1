package rest

import (
	"context"

	"github.com/go-kit/kit/endpoint"

	"github.com/samnav/samnav/contracts/compat"
	"github.com/samnav/samnav/services/registry/internal/schemas"
)

// Requests: what a decoder extracts from the HTTP request.
type (
	listRequest struct {
		subject string
		deleted bool
	}
	versionRequest struct {
		subject, version string
		deleted          bool
	}
	schemaRequest struct {
		subject string
		deleted bool
		body    schemaBody
	}
	idRequest struct {
		id      int
		deleted bool
	}
	compatRequest struct {
		subject, version string
		verbose          bool
		body             schemaBody
	}
	settingRequest struct {
		subject         string
		value           string
		defaultToGlobal bool
		force           bool
	}
	deleteRequest struct {
		subject, version string
		permanent        bool
	}
)

// schemaBody is the JSON body of register, lookup and compatibility
// requests. Unknown fields (metadata, ruleSet, normalize...) are ignored,
// so newer clients keep working.
type schemaBody struct {
	Schema     string              `json:"schema"`
	SchemaType string              `json:"schemaType,omitempty"`
	References []schemas.Reference `json:"references,omitempty"`
	ID         int                 `json:"id,omitempty"`
	Version    int                 `json:"version,omitempty"`
}

func (b schemaBody) toRequest() schemas.SchemaRequest {
	return schemas.SchemaRequest{Schema: b.Schema, SchemaType: b.SchemaType, References: b.References, ID: b.ID, Version: b.Version}
}

// Responses: what the encoder writes, in Confluent's JSON shapes.
type (
	subjectSchemaResponse struct {
		Subject    string              `json:"subject"`
		Version    int                 `json:"version"`
		ID         int                 `json:"id"`
		SchemaType string              `json:"schemaType,omitempty"` // omitted for AVRO, as Confluent does
		References []schemas.Reference `json:"references,omitempty"`
		Schema     string              `json:"schema"`
	}
	schemaResponse struct {
		SchemaType string              `json:"schemaType,omitempty"`
		References []schemas.Reference `json:"references,omitempty"`
		Schema     string              `json:"schema"`
	}
	registerResponse struct {
		ID int `json:"id"`
	}
	compatResponse struct {
		IsCompatible bool      `json:"is_compatible"`
		Messages     *[]string `json:"messages,omitempty"` // only with ?verbose=true; then [] when compatible
	}
	configResponse struct {
		CompatibilityLevel compat.Level `json:"compatibilityLevel"`
	}
	putConfigResponse struct {
		Compatibility compat.Level `json:"compatibility"`
	}
	modeResponse struct {
		Mode schemas.Mode `json:"mode"`
	}
	// rawSchema is written as the schema's JSON itself, not as a string.
	rawSchema string
)

func schemaType(t string) string {
	if t == schemas.TypeAvro {
		return ""
	}
	return t
}

func fromSubjectSchema(s schemas.SubjectSchema) subjectSchemaResponse {
	return subjectSchemaResponse{Subject: s.Subject, Version: s.Version, ID: s.ID, SchemaType: schemaType(s.Type), References: s.References, Schema: s.Schema}
}

// Endpoints holds one go-kit endpoint per API operation.
type Endpoints struct {
	Subjects, Versions, SubjectVersion, SubjectVersionSchema endpoint.Endpoint
	Register, Lookup                                         endpoint.Endpoint
	SchemaByID, SchemaByIDRaw, SubjectsByID, VersionsByID    endpoint.Endpoint
	Types, Compatibility                                     endpoint.Endpoint
	GetConfig, PutConfig, DeleteConfig                       endpoint.Endpoint
	GetMode, PutMode, DeleteMode                             endpoint.Endpoint
	DeleteSubject, DeleteVersion                             endpoint.Endpoint
}

// MakeEndpoints binds every endpoint to svc: each decodes nothing (the
// decoders did), calls one service method and shapes its result with
// call, which holds the error check they share.
func MakeEndpoints(svc schemas.Service) Endpoints {
	type ctx = context.Context
	return Endpoints{
		Subjects:             call(func(c ctx, q listRequest) ([]string, error) { return svc.Subjects(c, q.deleted) }, asIs),
		Versions:             call(func(c ctx, q listRequest) ([]int, error) { return svc.Versions(c, q.subject, q.deleted) }, asIs),
		SubjectVersion:       call(subjectVersion(svc), fromSubjectSchema),
		SubjectVersionSchema: call(subjectVersion(svc), func(s schemas.SubjectSchema) rawSchema { return rawSchema(s.Schema) }),
		Register: call(func(c ctx, q schemaRequest) (int, error) { return svc.Register(c, q.subject, q.body.toRequest()) },
			func(id int) registerResponse { return registerResponse{ID: id} }),
		Lookup: call(func(c ctx, q schemaRequest) (schemas.SubjectSchema, error) {
			return svc.Lookup(c, q.subject, q.body.toRequest(), q.deleted)
		}, fromSubjectSchema),
		SchemaByID: call(schemaByID(svc), func(s schemas.SchemaInfo) schemaResponse {
			return schemaResponse{SchemaType: schemaType(s.Type), References: s.References, Schema: s.Schema}
		}),
		SchemaByIDRaw: call(schemaByID(svc), func(s schemas.SchemaInfo) rawSchema { return rawSchema(s.Schema) }),
		SubjectsByID:  call(func(c ctx, q idRequest) ([]string, error) { return svc.SubjectsByID(c, q.id, q.deleted) }, asIs),
		VersionsByID: call(func(c ctx, q idRequest) ([]schemas.SubjectVersion, error) {
			return svc.VersionsByID(c, q.id, q.deleted)
		}, asIs),
		Types: func(context.Context, any) (any, error) { return svc.Types(), nil },
		Compatibility: call(func(c ctx, q compatRequest) (compatResponse, error) {
			ok, msgs, err := svc.CheckCompatibility(c, q.subject, q.version, q.body.toRequest())
			resp := compatResponse{IsCompatible: ok}
			if q.verbose {
				resp.Messages = &msgs
			}
			return resp, err
		}, asIs),
		GetConfig: call(func(c ctx, q settingRequest) (compat.Level, error) {
			return svc.Config(c, q.subject, q.defaultToGlobal)
		}, asConfig),
		PutConfig:    call(func(c ctx, q settingRequest) (compat.Level, error) { return svc.SetConfig(c, q.subject, q.value) }, asPutConfig),
		DeleteConfig: call(func(c ctx, q settingRequest) (compat.Level, error) { return svc.DeleteConfig(c, q.subject) }, asConfig),
		GetMode:      call(func(c ctx, q settingRequest) (schemas.Mode, error) { return svc.Mode(c, q.subject, q.defaultToGlobal) }, asMode),
		PutMode: call(func(c ctx, q settingRequest) (schemas.Mode, error) {
			return svc.SetMode(c, q.subject, q.value, q.force)
		}, asMode),
		DeleteMode:    call(func(c ctx, q settingRequest) (schemas.Mode, error) { return svc.DeleteMode(c, q.subject) }, asMode),
		DeleteSubject: call(func(c ctx, q deleteRequest) ([]int, error) { return svc.DeleteSubject(c, q.subject, q.permanent) }, asIs),
		DeleteVersion: call(func(c ctx, q deleteRequest) (int, error) {
			return svc.DeleteVersion(c, q.subject, q.version, q.permanent)
		}, asIs),
	}
}

// call makes an endpoint of do, a service call on the request type R its
// decoder produces, whose result respond shapes for the encoder. A failed
// call's error goes to the error encoder as it is.
func call[R, V, W any](do func(context.Context, R) (V, error), respond func(V) W) endpoint.Endpoint {
	return func(ctx context.Context, r any) (any, error) {
		v, err := do(ctx, r.(R))
		if err != nil {
			return nil, err
		}
		return respond(v), nil
	}
}

// asIs writes a service result in its own JSON shape.
func asIs[V any](v V) V { return v }

func asConfig(l compat.Level) configResponse       { return configResponse{CompatibilityLevel: l} }
func asPutConfig(l compat.Level) putConfigResponse { return putConfigResponse{Compatibility: l} }
func asMode(m schemas.Mode) modeResponse           { return modeResponse{Mode: m} }

func subjectVersion(svc schemas.Service) func(context.Context, versionRequest) (schemas.SubjectSchema, error) {
	return func(c context.Context, q versionRequest) (schemas.SubjectSchema, error) {
		return svc.SubjectVersion(c, q.subject, q.version, q.deleted)
	}
}

func schemaByID(svc schemas.Service) func(context.Context, idRequest) (schemas.SchemaInfo, error) {
	return func(c context.Context, q idRequest) (schemas.SchemaInfo, error) { return svc.SchemaByID(c, q.id) }
}
