package rest

import (
	"context"

	"github.com/go-kit/kit/endpoint"

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
		CompatibilityLevel schemas.Level `json:"compatibilityLevel"`
	}
	putConfigResponse struct {
		Compatibility schemas.Level `json:"compatibility"`
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

// MakeEndpoints binds every endpoint to svc.
func MakeEndpoints(svc schemas.Service) Endpoints {
	return Endpoints{
		Subjects: func(ctx context.Context, r any) (any, error) {
			return svc.Subjects(ctx, r.(listRequest).deleted)
		},
		Versions: func(ctx context.Context, r any) (any, error) {
			req := r.(listRequest)
			return svc.Versions(ctx, req.subject, req.deleted)
		},
		SubjectVersion: func(ctx context.Context, r any) (any, error) {
			req := r.(versionRequest)
			s, err := svc.SubjectVersion(ctx, req.subject, req.version, req.deleted)
			if err != nil {
				return nil, err
			}
			return fromSubjectSchema(s), nil
		},
		SubjectVersionSchema: func(ctx context.Context, r any) (any, error) {
			req := r.(versionRequest)
			s, err := svc.SubjectVersion(ctx, req.subject, req.version, req.deleted)
			if err != nil {
				return nil, err
			}
			return rawSchema(s.Schema), nil
		},
		Register: func(ctx context.Context, r any) (any, error) {
			req := r.(schemaRequest)
			id, err := svc.Register(ctx, req.subject, req.body.toRequest())
			if err != nil {
				return nil, err
			}
			return registerResponse{ID: id}, nil
		},
		Lookup: func(ctx context.Context, r any) (any, error) {
			req := r.(schemaRequest)
			s, err := svc.Lookup(ctx, req.subject, req.body.toRequest(), req.deleted)
			if err != nil {
				return nil, err
			}
			return fromSubjectSchema(s), nil
		},
		SchemaByID: func(ctx context.Context, r any) (any, error) {
			s, err := svc.SchemaByID(ctx, r.(idRequest).id)
			if err != nil {
				return nil, err
			}
			return schemaResponse{SchemaType: schemaType(s.Type), References: s.References, Schema: s.Schema}, nil
		},
		SchemaByIDRaw: func(ctx context.Context, r any) (any, error) {
			s, err := svc.SchemaByID(ctx, r.(idRequest).id)
			if err != nil {
				return nil, err
			}
			return rawSchema(s.Schema), nil
		},
		SubjectsByID: func(ctx context.Context, r any) (any, error) {
			req := r.(idRequest)
			return svc.SubjectsByID(ctx, req.id, req.deleted)
		},
		VersionsByID: func(ctx context.Context, r any) (any, error) {
			req := r.(idRequest)
			return svc.VersionsByID(ctx, req.id, req.deleted)
		},
		Types: func(context.Context, any) (any, error) {
			return svc.Types(), nil
		},
		Compatibility: func(ctx context.Context, r any) (any, error) {
			req := r.(compatRequest)
			ok, msgs, err := svc.CheckCompatibility(ctx, req.subject, req.version, req.body.toRequest())
			if err != nil {
				return nil, err
			}
			resp := compatResponse{IsCompatible: ok}
			if req.verbose {
				resp.Messages = &msgs
			}
			return resp, nil
		},
		GetConfig: func(ctx context.Context, r any) (any, error) {
			req := r.(settingRequest)
			l, err := svc.Config(ctx, req.subject, req.defaultToGlobal)
			if err != nil {
				return nil, err
			}
			return configResponse{CompatibilityLevel: l}, nil
		},
		PutConfig: func(ctx context.Context, r any) (any, error) {
			req := r.(settingRequest)
			l, err := svc.SetConfig(ctx, req.subject, req.value)
			if err != nil {
				return nil, err
			}
			return putConfigResponse{Compatibility: l}, nil
		},
		DeleteConfig: func(ctx context.Context, r any) (any, error) {
			l, err := svc.DeleteConfig(ctx, r.(settingRequest).subject)
			if err != nil {
				return nil, err
			}
			return configResponse{CompatibilityLevel: l}, nil
		},
		GetMode: func(ctx context.Context, r any) (any, error) {
			req := r.(settingRequest)
			m, err := svc.Mode(ctx, req.subject, req.defaultToGlobal)
			if err != nil {
				return nil, err
			}
			return modeResponse{Mode: m}, nil
		},
		PutMode: func(ctx context.Context, r any) (any, error) {
			req := r.(settingRequest)
			m, err := svc.SetMode(ctx, req.subject, req.value, req.force)
			if err != nil {
				return nil, err
			}
			return modeResponse{Mode: m}, nil
		},
		DeleteMode: func(ctx context.Context, r any) (any, error) {
			m, err := svc.DeleteMode(ctx, r.(settingRequest).subject)
			if err != nil {
				return nil, err
			}
			return modeResponse{Mode: m}, nil
		},
		DeleteSubject: func(ctx context.Context, r any) (any, error) {
			req := r.(deleteRequest)
			return svc.DeleteSubject(ctx, req.subject, req.permanent)
		},
		DeleteVersion: func(ctx context.Context, r any) (any, error) {
			req := r.(deleteRequest)
			return svc.DeleteVersion(ctx, req.subject, req.version, req.permanent)
		},
	}
}
