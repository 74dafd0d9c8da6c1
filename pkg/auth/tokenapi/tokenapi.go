// Package tokenapi is the HTTP API admins manage API tokens with
// (/api/v1/tokens): issue, list, rotate, revoke, and each token's history
// of who changed it and why. A service mounts it on its mux behind its
// authentication middleware (auth.Middleware); every route needs an admin.
package tokenapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/pkg/sdk/apierr"
)

// Path is the collection's path.
const Path = "/api/v1/tokens"

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 64 << 10

// API serves the token routes. Tokens nil answers every route 503 (a
// service whose principals come from elsewhere keeps no tokens).
type API struct {
	Tokens *auth.Tokens
	// Policy bounds expiry and rotation overlap; zero fields take
	// auth.DefaultTokenPolicy's.
	Policy auth.TokenPolicy
	// Errors writes refusals; nil means apierr.Write.
	Errors *apierr.Writer
}

// Register mounts the routes on mux.
func (a *API) Register(mux *httproute.Mux) {
	mux.HandleFunc("POST "+Path, a.handle(a.create))
	mux.HandleFunc("GET "+Path, a.handle(a.list))
	mux.HandleFunc("POST "+Path+"/{id}/rotate", a.handle(a.rotate))
	mux.HandleFunc("POST "+Path+"/{id}/revoke", a.handle(a.revoke))
	mux.HandleFunc("GET "+Path+"/{id}/events", a.handle(a.events))
}

// Token is a token as an admin sees it: never its secret or hash.
type Token struct {
	ID       string       `json:"id"`
	Name     string       `json:"name"`
	Subject  string       `json:"subject"`
	Kind     auth.Kind    `json:"kind"`
	Grants   []auth.Grant `json:"grants"`
	Created  time.Time    `json:"created"`
	Expires  *time.Time   `json:"expires,omitempty"`
	LastUsed *time.Time   `json:"lastUsed,omitempty"`
	Revoked  *time.Time   `json:"revoked,omitempty"`
	// Active is whether the token authenticates now.
	Active bool `json:"active"`
}

// Issued answers a create or a rotation: the token, and its secret, shown
// this once.
type Issued struct {
	Token
	Secret string `json:"token"`
}

// List answers GET /api/v1/tokens.
type List struct {
	Tokens []Token `json:"tokens"`
}

// Events answers GET /api/v1/tokens/{id}/events.
type Events struct {
	Events []auth.TokenEvent `json:"events"`
}

// RotateRequest is a rotation's body: how long the old token stays valid
// beside the new one (a Go duration; "" means the policy's default, "0s"
// ends it at once) and why.
type RotateRequest struct {
	Overlap string `json:"overlap,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// RevokeRequest is a revocation's body; the reason is required.
type RevokeRequest struct {
	Reason string `json:"reason"`
}

// View makes a record into what an admin sees of it at now.
func View(r auth.TokenRecord, now time.Time) Token {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	return Token{ID: r.ID, Name: r.Name, Subject: r.Subject, Kind: r.Kind, Grants: r.Grants, Created: r.CreatedAt,
		Expires: opt(r.ExpiresAt), LastUsed: opt(r.LastUsedAt), Revoked: opt(r.RevokedAt), Active: r.Active(now)}
}

// handle checks the caller is an admin, runs h and writes its answer
// (status and JSON) or its error.
func (a *API) handle(h func(r *http.Request, by *auth.Principal) (int, any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		by := auth.FromContext(r.Context())
		status, body, err := 0, any(nil), auth.Require(by, auth.ActionAdmin, "")
		if err == nil && a.Tokens == nil {
			err = apierr.Unavailable("this service keeps no API tokens")
		}
		if err == nil {
			status, body, err = h(r, by)
		}
		if errors.Is(err, auth.ErrTokenNotFound) {
			err = apierr.NotFound("no token has this id").Wrap(err)
		}
		if err != nil {
			if a.Errors != nil {
				a.Errors.Write(w, r, err)
			} else {
				apierr.Write(w, r, err)
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		// A secret in an answer must not stay in a cache.
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
}

func decode(r *http.Request, v any) error {
	return apierr.DecodeJSON(r, v, apierr.MaxBody(MaxBodyBytes), apierr.DisallowUnknownFields())
}

func (a *API) now() time.Time {
	if a.Tokens.Now != nil {
		return a.Tokens.Now()
	}
	return time.Now()
}

func (a *API) create(r *http.Request, by *auth.Principal) (int, any, error) {
	var req auth.CreateRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	secret, rec, err := a.Tokens.Create(r.Context(), by, req, a.Policy.WithDefaults())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, Issued{Token: View(rec, a.now()), Secret: secret}, nil
}

func (a *API) list(r *http.Request, _ *auth.Principal) (int, any, error) {
	recs, err := a.Tokens.Store.ListTokens(r.Context())
	if err != nil {
		return 0, nil, err
	}
	now := a.now()
	out := List{Tokens: make([]Token, 0, len(recs))}
	for _, rec := range recs {
		out.Tokens = append(out.Tokens, View(rec, now))
	}
	return http.StatusOK, out, nil
}

func (a *API) rotate(r *http.Request, by *auth.Principal) (int, any, error) {
	var req RotateRequest
	if err := apierr.DecodeJSON(r, &req, apierr.MaxBody(MaxBodyBytes), apierr.DisallowUnknownFields(), apierr.Optional()); err != nil {
		return 0, nil, err
	}
	secret, rec, err := a.Tokens.Rotate(r.Context(), by, r.PathValue("id"), req.Overlap, req.Reason, a.Policy.WithDefaults())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, Issued{Token: View(rec, a.now()), Secret: secret}, nil
}

func (a *API) revoke(r *http.Request, by *auth.Principal) (int, any, error) {
	var req RevokeRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	id := r.PathValue("id")
	if err := a.Tokens.Revoke(r.Context(), by, id, req.Reason); err != nil {
		return 0, nil, err
	}
	rec, err := a.Tokens.Store.TokenByID(r.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, View(rec, a.now()), nil
}

func (a *API) events(r *http.Request, _ *auth.Principal) (int, any, error) {
	evs, err := a.Tokens.Events(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	if evs == nil {
		evs = []auth.TokenEvent{}
	}
	return http.StatusOK, Events{Events: evs}, nil
}
