package hubtest_test

import (
	"testing"

	"github.com/samnav/samnav/contracts/check"
	"github.com/samnav/samnav/services/hubtest"
)

// TestPersonnummer: every personnummer of the sequence passes the model's
// check, encodes the birth date returned, and none repeats, across the
// wrap to the next birth number.
func TestPersonnummer(t *testing.T) {
	seen := map[string]bool{}
	for _, from := range []int{0, 28_500, 999_000} {
		for i := from; i < from+1000; i++ {
			pnr, birth := hubtest.Personnummer(i)
			if err := check.Personnummer(pnr); err != nil {
				t.Fatalf("Personnummer(%d) = %s: %v", i, pnr, err)
			}
			if pnr[:8] != birth.Format("20060102") {
				t.Fatalf("Personnummer(%d) = %s, born %s", i, pnr, birth.Format("2006-01-02"))
			}
			if seen[pnr] {
				t.Fatalf("Personnummer(%d) = %s repeats", i, pnr)
			}
			seen[pnr] = true
		}
	}
}
