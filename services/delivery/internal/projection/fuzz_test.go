package projection_test

import (
	"testing"

	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/services/delivery/internal/projection"
)

// FuzzProject feeds Avro bodies (state-topic values come from outside the
// delivery service) through decode, Plain, Apply and the view encoding
// with a fuzzed field selection. Invariants: no panic; a decodable record
// projects to only id and approved fields; a protected identity never
// carries a shielded value to a subscription not approved for it; the
// projection always encodes with the projected schema.
func FuzzProject(f *testing.F) {
	c, schema := person(f)
	full := avro.MustParse(schema)
	for _, marker := range []string{"NONE", "PROTECTED_REGISTRATION"} {
		b, err := avro.Marshal(full, anna(marker))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint32(0xffff), false)
		f.Add(b, uint32(0x0300), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, mask uint32, protectedApproved bool) {
		var fields []string
		for i, a := range c.Attributes {
			if mask&(1<<uint(i%32)) != 0 {
				fields = append(fields, a.Name)
			}
		}
		p, err := projection.New(c, schema, fields, protectedApproved)
		if err != nil {
			t.Fatal(err)
		}
		var dec map[string]any
		if err := avro.Unmarshal(full, data, &dec); err != nil {
			return
		}
		plain, err := p.Plain(dec)
		if err != nil {
			return // e.g. an empty body decodes to an empty map: refused here
		}
		got := p.Apply(plain)
		allowed := map[string]bool{"id": true}
		for _, f := range fields {
			allowed[f] = true
		}
		for k, v := range got {
			if !allowed[k] {
				t.Fatalf("field %q delivered without approval", k)
			}
			if a := c.Attribute(k); a != nil && a.Shielded && !protectedApproved && plain["protectedIdentity"] != "NONE" && v != nil {
				t.Fatalf("shielded %q delivered for protected identity %v", k, plain["protectedIdentity"])
			}
		}
		v, err := p.AvroValue(got)
		if err != nil {
			t.Fatalf("AvroValue: %v", err)
		}
		if _, err := avro.Marshal(avro.MustParse(p.Schema()), v); err != nil {
			t.Fatalf("encode projection: %v", err)
		}
	})
}
