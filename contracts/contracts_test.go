package contracts_test

import (
	"encoding/json"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/contracts/concepts"
	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/contracts/generator"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/avro"
)

func TestContracts(t *testing.T) {
	cs := contractstest.Contracts(t)
	m := contractstest.Model(t)
	byTopic := map[string]contracts.Contract{}
	for _, c := range cs {
		byTopic[c.Topic] = c
		if c.Subject != c.Topic+"-value" {
			t.Errorf("%s: subject %q, want %q", c.Topic, c.Subject, c.Topic+"-value")
		}
		s, err := avro.Parse(c.Schema)
		if err != nil {
			t.Errorf("%s: %v", c.Topic, err)
			continue
		}
		if want := "se.samnav." + c.Concept + ".v" + itoa(c.Major) + "." + strings.ToUpper(c.Concept[:1]) + c.Concept[1:]; s.FullName() != want {
			t.Errorf("%s: full name %s, want %s", c.Topic, s.FullName(), want)
		}
	}
	for _, c := range m.Concepts {
		if _, ok := byTopic[c.Topic()]; !ok {
			t.Errorf("model concept %s has no embedded contract for %s", c.ID, c.Topic())
		}
	}
	if len(m.Concepts) < 7 {
		t.Errorf("model has %d concepts, want at least the 7 of the starting model", len(m.Concepts))
	}
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }

// TestGeneratedFilesCurrent regenerates the contracts into a temporary
// directory and compares them with the committed files, so a model change
// without `make generate` fails `make test`.
func TestGeneratedFilesCurrent(t *testing.T) {
	files, err := generator.GenerateDir("model")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range generator.Stale(".", files) {
		t.Errorf("%s is stale or missing: run `make generate`", p)
	}
}

// TestRoundTrip encodes a value with every attribute set through each
// concept's generated Go type and schema, decodes it back, and expects the
// same value.
func TestRoundTrip(t *testing.T) {
	m := contractstest.Model(t)
	cs := contractstest.Contracts(t)
	schemas := map[string]string{}
	for _, c := range cs {
		schemas[c.Topic] = c.Schema
	}
	for _, c := range m.Concepts {
		t.Run(c.ID, func(t *testing.T) {
			s, err := avro.Parse(schemas[c.Topic()])
			if err != nil {
				t.Fatal(err)
			}
			for _, full := range []bool{true, false} {
				v := concepts.New(c.Topic())
				if v == nil {
					t.Fatalf("concepts.New(%q) = nil", c.Topic())
				}
				fill(t, reflect.ValueOf(v).Elem(), c.Attributes, full)
				data, err := avro.Marshal(s, v)
				if err != nil {
					t.Fatalf("full=%v: %v", full, err)
				}
				back := concepts.New(c.Topic())
				if err := avro.Unmarshal(s, data, back); err != nil {
					t.Fatalf("full=%v: %v", full, err)
				}
				want, _ := json.Marshal(v)
				got, _ := json.Marshal(back)
				if string(got) != string(want) {
					t.Errorf("full=%v: round trip changed the value:\n got %s\nwant %s", full, got, want)
				}
			}
		})
	}
}

// fill sets every field of a generated struct to a sample value; when full
// is false it leaves optional attributes empty.
func fill(t *testing.T, v reflect.Value, attrs []*model.Attribute, full bool) {
	t.Helper()
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		name := f.Tag.Get("avro")
		if name == "id" {
			v.Field(i).SetString("0b9f3e2a-opaque")
			continue
		}
		var a *model.Attribute
		for _, x := range attrs {
			if x.Name == name {
				a = x
			}
		}
		if a == nil {
			t.Fatalf("field %s (avro %q) has no attribute in the model", f.Name, name)
		}
		if !full && !a.Required {
			if a.HasDefault {
				setDefault(v.Field(i), a.Default)
			}
			continue
		}
		sample(t, v.Field(i), a, full)
	}
}

func sample(t *testing.T, v reflect.Value, a *model.Attribute, full bool) {
	if v.Kind() == reflect.Pointer && v.Type() != reflect.TypeFor[*big.Rat]() {
		v.Set(reflect.New(v.Type().Elem()))
		v = v.Elem()
	}
	switch a.Type {
	case model.String, model.Reference:
		v.SetString("sample " + a.Name)
	case model.Enum:
		v.SetString(a.Codes[len(a.Codes)-1].Code)
	case model.Int, model.Long:
		v.SetInt(42)
	case model.Boolean:
		v.SetBool(true)
	case model.Date:
		v.Set(reflect.ValueOf(time.Date(2024, 5, 17, 0, 0, 0, 0, time.UTC)))
	case model.Timestamp:
		v.Set(reflect.ValueOf(time.Date(2024, 5, 17, 13, 14, 15, 16e6, time.UTC)))
	case model.Decimal:
		v.Set(reflect.ValueOf(big.NewRat(1234, 100)))
	case model.Record:
		fill(t, v, a.Attributes, full)
	case model.List:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			sample(t, v.Index(i), a.Items, full)
		}
	default:
		t.Fatalf("attribute %s: type %s not sampled", a.Name, a.Type)
	}
}

// setDefault sets what the schema's default would: a Go zero value is not
// an attribute's default (an enum's "" is no symbol at all).
func setDefault(v reflect.Value, d any) {
	switch d := d.(type) {
	case string:
		v.SetString(d)
	case int64:
		v.SetInt(d)
	case bool:
		v.SetBool(d)
	case []any:
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	}
}
