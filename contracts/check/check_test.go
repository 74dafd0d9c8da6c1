package check_test

import (
	"errors"
	"testing"
	"time"

	"github.com/samnav/samnav/contracts/check"
)

// TestChecks: every check accepts its valid inputs and refuses the others
// with an error wrapping ErrInvalid.
func TestChecks(t *testing.T) {
	type checkCase struct {
		in      string
		wantErr bool
	}
	for _, c := range []struct {
		name  string
		check check.Check
		cases []checkCase
	}{
		{"Personnummer", check.Personnummer, []checkCase{
			{"19121212-1212", false},
			{"191212121212", false},
			{"121212-1212", false},
			{"1212121212", false},
			{"121212+1212", false},  // 100 years or older: born 1912
			{"19121212+1212", true}, // '+' only with the 10-digit form
			{"121212-1213", true},   // wrong check digit
			{"19121312-1212", true}, // month 13
			{"19120230-1212", true}, // 30 February
			{"701063-2391", true},   // a samordningsnummer
			{"121212_1212", true},
			{"12121-21212", true},
			{"abcdef-ghij", true},
			{"", true},
			{"21121212-1212", true}, // in the future
			{"20000229-0005", false},
			{"19000229-0003", true}, // 1900 was no leap year
		}},
		{"Samordningsnummer", check.Samordningsnummer, []checkCase{
			{"701063-2391", false},
			{"19701063-2391", false},
			{"7010632391", false},
			{"701063-2392", true},   // wrong check digit
			{"701023-2391", true},   // an ordinary personnummer date
			{"700292-2390", true},   // 32 February
			{"19121212-1212", true}, // a personnummer
		}},
		{"Organisationsnummer", check.Organisationsnummer, []checkCase{
			{"556016-0680", false}, // Telefonaktiebolaget LM Ericsson
			{"5560160680", false},
			{"16556016-0680", false},
			{"212000-0142", false}, // Stockholms kommun
			{"2120000142", false},
			{"556016-0681", true},   // wrong check digit
			{"121212-1212", true},   // third digit below 2: a personnummer
			{"17556016-0680", true}, // century prefix must be 16
			{"556016+0680", true},
			{"55601-60680", true},
			{"", true},
		}},
		{"Postnummer", check.Postnummer, []checkCase{
			{"11129", false},
			{"111 29", false},
			{"111-29", true},
			{"1112", true},
			{"111290", true},
			{"01129", true},
			{"11 129", true},
			{"abcde", true},
			{"", true},
		}},
	} {
		for _, tt := range c.cases {
			t.Run(c.name+"/"+tt.in, func(t *testing.T) {
				err := c.check(tt.in)
				if (err != nil) != tt.wantErr {
					t.Fatalf("%s(%q) = %v, want error %v", c.name, tt.in, err, tt.wantErr)
				}
				if err != nil && !errors.Is(err, check.ErrInvalid) {
					t.Errorf("%s(%q): error %v does not wrap ErrInvalid", c.name, tt.in, err)
				}
			})
		}
	}
}

func TestParseIdentityNumberCentury(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want string
	}{
		{"121212-1212", "201212121212"}, // 14 years old, not 114
		{"121212+1212", "191212121212"},
		{"0001010008", "200001010008"},
		{"260301-0006", "202603010006"},
		{"260302-0005", "192603020005"}, // tomorrow in 2026, so 1926
		{"701063-2391", "197010632391"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n, err := check.ParseIdentityNumber(tt.in, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := n.String(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLuhn(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"1212121212", true},
		{"1212121213", false},
		{"79927398713", true},
		{"", false},
		{"12a4", false},
	}
	for _, tt := range tests {
		if got := check.Luhn(tt.in); got != tt.want {
			t.Errorf("Luhn(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNamed(t *testing.T) {
	for _, name := range check.Names() {
		if check.Named[name] == nil {
			t.Errorf("Names lists %q but Named has no such check", name)
		}
	}
	if len(check.Named) != len(check.Names()) {
		t.Errorf("Named has %d checks, Names lists %d", len(check.Named), len(check.Names()))
	}
}

// FuzzChecks feeds arbitrary text to every check: none may panic, every
// failure wraps ErrInvalid, and an accepted identity number round-trips
// through its canonical form.
func FuzzChecks(f *testing.F) {
	for _, s := range []string{"19121212-1212", "701063-2391", "556016-0680", "111 29", "121212+1212", "", "-", "99999999+9999"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		for name, c := range check.Named {
			if err := c(s); err != nil && !errors.Is(err, check.ErrInvalid) {
				t.Errorf("%s(%q): error %v does not wrap ErrInvalid", name, s, err)
			}
		}
		n, err := check.ParseIdentityNumber(s, now)
		if err != nil {
			return
		}
		back, err := check.ParseIdentityNumber(n.String(), now)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", n.String(), s, err)
		}
		if back != n {
			t.Errorf("round trip of %q: got %+v, want %+v", s, back, n)
		}
	})
}

func TestEveryCheckHasAnExampleThatPassesIt(t *testing.T) {
	for _, name := range check.Names() {
		ex, ok := check.Examples[name]
		if !ok {
			t.Errorf("check %s has no example", name)
			continue
		}
		if err := check.Named[name](ex); err != nil {
			t.Errorf("example %q of check %s fails it: %v", ex, name, err)
		}
	}
	if len(check.Examples) != len(check.Named) {
		t.Errorf("%d examples for %d checks", len(check.Examples), len(check.Named))
	}
}
