package masterdata_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/pkg/openapi"
	"github.com/samnav/samnav/pkg/openapi/openapitest"
	"github.com/samnav/samnav/services/hubtest"
	"github.com/samnav/samnav/services/masterdata"
)

// TestOpenAPIDocumentCoversEveryRouteAndItsExamplesHold fetches the
// document the server serves, validates it, checks every route the server
// mounts is in it for every concept, and sends every operation's example
// to the server: each must get the documented status and a body the
// document's schema accepts.
func TestOpenAPIDocumentCoversEveryRouteAndItsExamplesHold(t *testing.T) {
	a := startAPI(t)
	m, err := contracts.Model()
	if err != nil {
		t.Fatal(err)
	}
	c := openapitest.New(t, openapitest.Fetch(t, a.base), a.base)

	// Routes on {concept} are served for every concept of the model; the
	// natural-key lookup only for those that have a natural key.
	c.Routes(httproute.RoutesOf(a.srv.Handler()), hubtest.ConceptPaths(t), "/")

	admin := a.token("admin", auth.Grant{Role: auth.RoleAdmin})
	steward := a.token("steward", auth.Grant{Role: auth.RoleSteward, Concepts: []string{auth.AnyConcept}})
	c.Example(http.MethodGet, "/api/v1/whoami", openapitest.Call{Token: steward})
	c.Example(http.MethodGet, openapi.Path, openapitest.Call{})
	c.Refused(http.MethodGet, "/api/v1/whoami", http.StatusUnauthorized, openapitest.Call{})
	c.Refused(http.MethodGet, "/api/v1/unit/{id}", http.StatusNotFound, openapitest.Call{Token: steward})
	c.Refused(http.MethodGet, "/api/v1/unit", http.StatusBadRequest, openapitest.Call{Token: steward, Query: map[string]string{"limit": "1001"}})
	c.Refused(http.MethodPost, "/api/v1/person", http.StatusForbidden, openapitest.Call{Token: steward}) // folkbokforing masters it
	for _, con := range m.Concepts {
		t.Run(con.ID, func(t *testing.T) {
			c := c.With(t)
			master := a.publisher(con.Master)
			writer := master
			if con.Master == "samnav" {
				// The hub masters it: stewards write it, and a publish
				// needs a steward's write grant besides the publisher's.
				writer = steward
				master = a.token(con.Master, auth.Grant{Role: auth.RolePublisher, System: con.Master}, auth.Grant{Role: auth.RoleSteward, Concepts: []string{con.ID}})
			}
			base := "/api/v1/" + con.ID
			created, hdr := c.Example(http.MethodPost, base, openapitest.Call{Token: writer})
			id, _ := created["id"].(string)
			if id == "" || hdr.Get("ETag") != `"1"` || hdr.Get("Location") != base+"/"+id {
				t.Fatalf("create: id %q ETag %q Location %q", id, hdr.Get("ETag"), hdr.Get("Location"))
			}
			byID := openapitest.Call{Token: steward, Path: map[string]string{"id": id}}
			c.Example(http.MethodGet, base, openapitest.Call{Token: steward})
			c.Example(http.MethodGet, base+"/{id}", byID)
			if nks := con.NaturalKeys(); len(nks) > 0 {
				got, _ := c.Example(http.MethodPost, "/api/v1/lookup/"+con.ID, openapitest.Call{Token: steward})
				if got["id"] != id {
					t.Errorf("lookup by the example's natural key found %v, want %s", got["id"], id)
				}
				if nks[0].PersonalData == model.NotPersonal {
					if got, _ := c.Example(http.MethodGet, base+"/by/{attribute}/{value}", openapitest.Call{Token: steward}); got["id"] != id {
						t.Errorf("GET lookup by the example's natural key found %v, want %s", got["id"], id)
					}
				}
			}
			c.Example(http.MethodPost, "/api/v1/search/"+con.ID, openapitest.Call{Token: steward})
			c.Example(http.MethodGet, base+"/{id}/history", byID)
			reads, _ := c.Example(http.MethodGet, base+"/{id}/reads", openapitest.Call{Token: admin, Path: byID.Path})
			if n := len(reads["reads"].([]any)); con.HoldsPersonalData() != (n > 0) {
				t.Errorf("%s holds personal data: %v, but its read log has %d reads", con.ID, con.HoldsPersonalData(), n)
			}
			c.Refused(http.MethodGet, base+"/{id}/reads", http.StatusForbidden, byID)
			// The If-Match convention: required, and a stale one refused.
			c.Refused(http.MethodPut, base+"/{id}", http.StatusBadRequest, openapitest.Call{Token: writer, Path: byID.Path, Header: map[string]string{"If-Match": ""}})
			c.Example(http.MethodPut, base+"/{id}", openapitest.Call{Token: writer, Path: byID.Path})
			stale := c.Refused(http.MethodPut, base+"/{id}", http.StatusPreconditionFailed, openapitest.Call{Token: writer, Path: byID.Path})
			if cur, _ := stale["current"].(map[string]any); cur["revision"] != 2.0 {
				t.Errorf("a stale If-Match's answer holds current %v, want revision 2", stale["current"])
			}
			c.Example(http.MethodPost, "/api/v1/publish/"+con.ID, openapitest.Call{Token: master})
			c.Example(http.MethodPost, base+"/{id}/end", openapitest.Call{Token: writer, Path: byID.Path})
			erased, _ := c.Example(http.MethodDelete, base+"/{id}", openapitest.Call{Token: admin, Path: byID.Path})
			if erased["state"] != nil {
				t.Errorf("erased record's state: %v", erased["state"])
			}
		})
	}
	// API tokens: issued, listed, rotated, revoked, and their history.
	issued, _ := c.Example(http.MethodPost, "/api/v1/tokens", openapitest.Call{Token: admin})
	tokID, _ := issued["id"].(string)
	if tokID == "" || !strings.HasPrefix(issued["token"].(string), "snv_"+tokID+"_") {
		t.Fatalf("issued token %v", issued)
	}
	c.Refused(http.MethodGet, "/api/v1/tokens", http.StatusForbidden, openapitest.Call{Token: steward})
	c.Example(http.MethodGet, "/api/v1/tokens", openapitest.Call{Token: admin})
	rotated, _ := c.Example(http.MethodPost, "/api/v1/tokens/{id}/rotate", openapitest.Call{Token: admin, Path: map[string]string{"id": tokID}})
	c.Example(http.MethodPost, "/api/v1/tokens/{id}/revoke", openapitest.Call{Token: admin, Path: map[string]string{"id": rotated["id"].(string)}})
	evs, _ := c.Example(http.MethodGet, "/api/v1/tokens/{id}/events", openapitest.Call{Token: admin, Path: map[string]string{"id": tokID}})
	if n := len(evs["events"].([]any)); n != 2 {
		t.Errorf("the rotated token has %d events, want issued and rotated", n)
	}
	c.Refused(http.MethodGet, "/api/v1/tokens/{id}/events", http.StatusNotFound, openapitest.Call{Token: admin, Path: map[string]string{"id": "0000000000000000"}})
	c.Unexercised()
}

// TestOpenAPIConceptSchemasFollowTheModel pins that concept schemas come
// from the model: every attribute of every concept is a property of its
// state schema, and required attributes are required.
func TestOpenAPIConceptSchemasFollowTheModel(t *testing.T) {
	m, err := contracts.Model()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := masterdata.OpenAPI(m).JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
				Required   []string                   `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, con := range m.Concepts {
		s, ok := doc.Components.Schemas[strings.ToUpper(con.ID[:1])+con.ID[1:]+"State"]
		if !ok {
			t.Errorf("no state schema for %s", con.ID)
			continue
		}
		for _, attr := range con.Attributes {
			if _, ok := s.Properties[attr.Name]; !ok {
				t.Errorf("%s: attribute %s is not in the schema", con.ID, attr.Name)
			}
			if attr.Required && !attr.HasDefault && !slices.Contains(s.Required, attr.Name) {
				t.Errorf("%s: required attribute %s is not required in the schema", con.ID, attr.Name)
			}
		}
		if len(s.Properties) != len(con.Attributes) {
			t.Errorf("%s: %d properties for %d attributes", con.ID, len(s.Properties), len(con.Attributes))
		}
	}
}
