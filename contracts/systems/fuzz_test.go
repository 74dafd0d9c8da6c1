package systems_test

import (
	"testing"

	"github.com/samnav/samnav/contracts/systems"
)

// FuzzParse: Parse never panics, and what it accepts validates and
// finds each of its systems by id.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("systems: []"))
	f.Add([]byte("systems:\n  - id: x\n    contact: a@b.c\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := systems.Parse(b)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted a catalogue that does not validate: %v", err)
		}
		for _, s := range c.Systems {
			if c.System(s.ID) == nil {
				t.Fatalf("system %q not found by id", s.ID)
			}
		}
	})
}
