package projection_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/samnav/samnav/contracts/concepts"
	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/services/delivery/internal/projection"
)

func anna(protected string) concepts.PersonV1 {
	return concepts.PersonV1{ID: "p1", PersonalIdentityNumber: ptr("201001022383"), GivenNames: "Anna Maria", PreferredGivenName: ptr("Anna"), Surname: "Svensson",
		DateOfBirth: time.Date(2010, 1, 2, 0, 0, 0, 0, time.UTC), ProtectedIdentity: concepts.PersonV1ProtectedIdentity(protected), RegistrationStatus: "REGISTERED",
		RegisteredAddress: &concepts.PersonV1RegisteredAddress{StreetAddress: "Storgatan 1", PostalCode: "11122", PostTown: "Stockholm", MunicipalityCode: "0180"},
		EmailAddress:      ptr("anna@example.se"), PhoneNumbers: []string{"+46701234567"}}
}

func TestApply(t *testing.T) {
	c, schema := person(t)
	addr := map[string]any{"streetAddress": "Storgatan 1", "postalCode": "11122", "postTown": "Stockholm", "municipalityCode": "0180", "careOf": nil}
	school := []string{"givenNames", "surname", "dateOfBirth", "registeredAddress", "emailAddress", "phoneNumbers"}
	tests := []struct {
		name      string
		marker    string
		fields    []string
		protected bool
		want      map[string]any
	}{
		{"only approved fields and id", "NONE", []string{"givenNames", "surname"}, false,
			map[string]any{"id": "p1", "givenNames": "Anna Maria", "surname": "Svensson"}},
		{"unprotected person keeps address", "NONE", school, false,
			map[string]any{"id": "p1", "givenNames": "Anna Maria", "surname": "Svensson", "dateOfBirth": time.Date(2010, 1, 2, 0, 0, 0, 0, time.UTC),
				"registeredAddress": addr, "emailAddress": "anna@example.se", "phoneNumbers": []any{"+46701234567"}}},
		{"protected registration withholds every shielded field", "PROTECTED_REGISTRATION", school, false,
			map[string]any{"id": "p1", "givenNames": "Anna Maria", "surname": "Svensson", "dateOfBirth": time.Date(2010, 1, 2, 0, 0, 0, 0, time.UTC),
				"registeredAddress": nil, "emailAddress": nil, "phoneNumbers": nil}},
		{"confidentiality marking withholds too", "CONFIDENTIALITY_MARKING", []string{"registeredAddress"}, false,
			map[string]any{"id": "p1", "registeredAddress": nil}},
		{"fictitious identity withholds too", "FICTITIOUS_IDENTITY", []string{"emailAddress"}, false,
			map[string]any{"id": "p1", "emailAddress": nil}},
		{"approved for protected identities keeps address", "PROTECTED_REGISTRATION", []string{"registeredAddress"}, true,
			map[string]any{"id": "p1", "registeredAddress": addr}},
		{"marker itself not approved is not delivered", "PROTECTED_REGISTRATION", []string{"surname"}, false,
			map[string]any{"id": "p1", "surname": "Svensson"}},
		{"no fields gives id only", "NONE", nil, false, map[string]any{"id": "p1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := projection.New(c, schema, tt.fields, tt.protected)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := p.Plain(decoded(t, schema, anna(tt.marker)))
			if err != nil {
				t.Fatal(err)
			}
			got := p.Apply(plain)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Apply =\n%#v\nwant\n%#v", got, tt.want)
			}
			// The projected schema encodes the projection and reads back the
			// same values.
			v, err := p.AvroValue(got)
			if err != nil {
				t.Fatalf("AvroValue: %v", err)
			}
			view := avro.MustParse(p.Schema())
			b, err := avro.Marshal(view, v)
			if err != nil {
				t.Fatalf("encode with the projected schema: %v", err)
			}
			var back map[string]any
			if err := avro.Unmarshal(view, b, &back); err != nil {
				t.Fatalf("read back: %v", err)
			}
			back, err = p.ViewPlain(back)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.want) {
				t.Errorf("read back from the view =\n%#v\nwant\n%#v", back, tt.want)
			}
		})
	}
}

func TestNewRejectsUnknownFields(t *testing.T) {
	c, schema := person(t)
	if _, err := projection.New(c, schema, []string{"surname", "shoeSize", "registeredAddress.street"}, false); err == nil {
		t.Fatal("unknown fields accepted")
	}
}

func TestSchemaKeepsOnlyApprovedFields(t *testing.T) {
	c, schema := person(t)
	tests := []struct {
		name      string
		fields    []string
		protected bool
		want      []string
		nullable  map[string]bool
	}{
		{"narrowed", []string{"surname", "givenNames"}, false, []string{"id", "givenNames", "surname"}, map[string]bool{}},
		{"shielded become nullable", []string{"phoneNumbers", "registeredAddress"}, false, []string{"id", "registeredAddress", "phoneNumbers"},
			map[string]bool{"registeredAddress": true, "phoneNumbers": true}},
		{"approved for protected keeps contract types", []string{"phoneNumbers"}, true, []string{"id", "phoneNumbers"}, map[string]bool{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := projection.New(c, schema, tt.fields, tt.protected)
			if err != nil {
				t.Fatal(err)
			}
			got := fieldsOf(t, p.Schema())
			var names []string
			for _, f := range got {
				names = append(names, f.Name)
				if f.Name == "phoneNumbers" && f.Nullable != tt.nullable["phoneNumbers"] {
					t.Errorf("phoneNumbers nullable = %v", f.Nullable)
				}
			}
			if !reflect.DeepEqual(names, tt.want) {
				t.Errorf("fields %v, want %v", names, tt.want)
			}
		})
	}
}

func TestProtectedFailsClosed(t *testing.T) {
	c, schema := person(t)
	p, err := projection.New(c, schema, []string{"registeredAddress"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{nil, "", "none", 3, "PROTECTED_REGISTRATION"} {
		if !p.Protected(map[string]any{"protectedIdentity": v}) {
			t.Errorf("protectedIdentity %v not treated as protected", v)
		}
	}
	if p.Protected(map[string]any{"protectedIdentity": "NONE"}) {
		t.Error("NONE treated as protected")
	}
}
