package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
)

// FuzzAuthenticate: whatever a client puts in the Authorization header,
// Authenticate does not panic; it finds a principal only for the exact
// token issued (as a bearer token or a basic-auth password); every refusal
// wraps ErrUnauthenticated and never repeats a token's secret, because
// errors reach responses and logs. "TOKEN" in an input stands for the
// issued token, so the seeds hold real requests without a fixed secret.
func FuzzAuthenticate(f *testing.F) {
	tokens := &auth.Tokens{Store: &auth.MemoryStore{}}
	good, rec, err := tokens.Issue(context.Background(), auth.IssueRequest{Subject: "skolplattform", Kind: auth.KindSystem, Name: "Skolplattform",
		Grants: []auth.Grant{{Role: auth.RoleSubscriber, System: "skolplattform"}}})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"Bearer TOKEN", "bearer   TOKEN  ", "Basic " + base64.StdEncoding.EncodeToString([]byte("skolplattform:TOKEN")),
		"TOKEN", "Token TOKEN", "Bearer TOKENx", "Bearer snv_" + rec.ID + "_", "Bearer snv__secretpart", "Bearer snv_0123456789abcdef_c2VjcmV0c2VjcmV0",
		"Basic !!!", "Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon")), "Digest x", "Bearer", "", " ",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		header = strings.ReplaceAll(header, "TOKEN", good)
		r := httptest.NewRequest("GET", "/api/v1/whoami", nil)
		r.Header.Set("Authorization", header)
		p, err := tokens.Authenticate(r)
		if err != nil {
			if p != nil || !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("Authorization %q: %v, %v; want no principal and an error wrapping ErrUnauthenticated", header, p, err)
			}
			for _, s := range secrets(header) {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("Authorization %q: the error %q repeats the secret %q", header, err, s)
				}
			}
			return
		}
		if p == nil {
			return // anonymous
		}
		_, pass, _ := r.BasicAuth()
		if p.Subject != rec.Subject || p.CredentialID != rec.ID || (pass != good && !strings.Contains(header, good)) {
			t.Fatalf("Authorization %q authenticated as %+v without the issued token", header, p)
		}
	})
}

// secrets returns the secret part of every snv_<id>_<secret> in s (and in
// a basic-auth password in it) that is long enough to mean something.
func secrets(s string) []string {
	if _, b64, ok := strings.Cut(s, " "); ok {
		if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64)); err == nil {
			s += " " + string(dec)
		}
	}
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ':' }) {
		i := strings.Index(f, "snv_")
		if i < 0 {
			continue
		}
		if _, secret, ok := strings.Cut(f[i+len("snv_"):], "_"); ok && len(secret) >= 4 {
			out = append(out, secret)
		}
	}
	return out
}
