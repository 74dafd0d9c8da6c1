package event_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/services/masterdata/internal/event"
)

// FuzzAvroValue: whatever JSON a client sends, a record that passes the
// model's validation converts to the Avro shape and encodes with the
// generated schema; nothing panics.
func FuzzAvroValue(f *testing.F) {
	f.Add("person", `{"givenNames":"A","surname":"B","dateOfBirth":"1985-07-09","protectedIdentity":"NONE","registrationStatus":"REGISTERED","phoneNumbers":["+46701234567"]}`)
	f.Add("employee", `{"person":"p","employeeNumber":"E","givenName":"B","surname":"C","forvaltning":"f","employmentType":"HOURLY","employmentRate":12.5,"startDate":"2024-01-01"}`)
	f.Add("address", `{"streetName":"G","postalCode":"11151","postTown":"S","latitude":"59.1","validFrom":"2020-01-01","streetNumber":3}`)
	f.Add("unit", `{"name":"U","unitType":"OTHER","ownerNamnd":"n","openingHours":[{"dayOfWeek":"MONDAY","opens":"07:00","closes":"17:00"}],"validFrom":"2020-01-01"}`)
	m := contractstest.Model(f)
	cs := contractstest.Contracts(f)
	schemas := map[string]*avro.Schema{}
	for _, c := range cs {
		schemas[c.Concept] = avro.MustParse(c.Schema)
	}
	f.Fuzz(func(t *testing.T, concept, body string) {
		c := m.Concept(concept)
		if c == nil {
			return
		}
		d := json.NewDecoder(bytes.NewReader([]byte(body)))
		d.UseNumber()
		var state map[string]any
		if d.Decode(&state) != nil || state == nil {
			return
		}
		delete(state, "id")
		if len(c.Validate(state)) > 0 {
			return
		}
		v, err := event.AvroValue(c, "id-1", state)
		if err != nil {
			t.Fatalf("valid %s record does not convert: %v\n%s", concept, err, body)
		}
		if _, err := avro.Marshal(schemas[concept], v); err != nil {
			t.Fatalf("valid %s record does not encode: %v\n%s", concept, err, body)
		}
	})
}
