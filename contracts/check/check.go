// Package check implements the named validation checks of the concept
// model: Swedish personal identity numbers (personnummer), co-ordination
// numbers (samordningsnummer), organisation numbers (organisationsnummer)
// and postal codes (postnummer).
//
// Every function takes untrusted input and never panics; a failure is an
// error that says which rule the value broke, so it can be shown to the
// person who typed it.
package check

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInvalid is wrapped by every error the checks return.
var ErrInvalid = errors.New("invalid")

// Check is a named check as the concept model refers to it.
type Check func(s string) error

// Named holds the checks by the names the model's `check:` key uses.
// It is read-only.
var Named = map[string]Check{
	"personnummer":        Personnummer,
	"samordningsnummer":   Samordningsnummer,
	"organisationsnummer": Organisationsnummer,
	"postnummer":          Postnummer,
}

// Examples holds, by check name, a value that passes the check: what
// generated documentation (the OpenAPI documents) shows as an example. The
// identity numbers are of the kind Skatteverket publishes for testing, and
// the organisation number is a public company's.
var Examples = map[string]string{
	"personnummer":        "198507099805",
	"samordningsnummer":   "198507699802",
	"organisationsnummer": "556016-0680",
	"postnummer":          "11122",
}

// Names returns the check names in sorted order.
func Names() []string {
	return []string{"organisationsnummer", "personnummer", "postnummer", "samordningsnummer"}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Luhn reports whether digits (ASCII '0'-'9' only) pass the Luhn mod-10
// check, the check digit being the last one.
func Luhn(digits string) bool {
	if digits == "" {
		return false
	}
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// IdentityNumber is a parsed personnummer or samordningsnummer.
type IdentityNumber struct {
	// Birth is the date of birth (for a samordningsnummer, with the day
	// offset of 60 removed).
	Birth time.Time
	// Coordination is true for a samordningsnummer.
	Coordination bool
	// Serial is the three-digit birth number (födelsenummer).
	Serial string
	// Control is the Luhn check digit.
	Control byte
}

// String returns the canonical 12-digit form YYYYMMDDNNNC (day + 60 for a
// samordningsnummer).
func (n IdentityNumber) String() string {
	day := n.Birth.Day()
	if n.Coordination {
		day += 60
	}
	return fmt.Sprintf("%04d%02d%02d%s%c", n.Birth.Year(), int(n.Birth.Month()), day, n.Serial, n.Control)
}

// ParseIdentityNumber parses a personnummer or samordningsnummer in any of
// its written forms: YYMMDD-NNNC, YYMMDD+NNNC (the '+' marks a person aged
// 100 or more), YYMMDDNNNC, YYYYMMDD-NNNC and YYYYMMDDNNNC. now decides the
// century of the 10-digit forms: the latest century that does not put the
// birth date after now, less one more century for '+'.
func ParseIdentityNumber(s string, now time.Time) (IdentityNumber, error) {
	var n IdentityNumber
	digits, sep, err := splitIdentity(s)
	if err != nil {
		return n, err
	}
	var year int
	rest := digits
	if len(digits) == 12 {
		year = atoi(digits[:4])
		rest = digits[2:]
		if sep == '+' {
			return n, invalid("the '+' separator is only used with the 10-digit form")
		}
	}
	yy, mm, dd := atoi(rest[0:2]), atoi(rest[2:4]), atoi(rest[4:6])
	if dd > 60 {
		n.Coordination = true
		dd -= 60
	}
	if mm < 1 || mm > 12 {
		return n, invalid("month %02d is not 01-12", mm)
	}
	if len(digits) == 10 {
		year = now.Year() - (now.Year()-yy)%100
		if sep == '+' {
			year -= 100
		}
	}
	birth := time.Date(year, time.Month(mm), dd, 0, 0, 0, 0, time.UTC)
	if dd < 1 || birth.Day() != dd || int(birth.Month()) != mm {
		if n.Coordination {
			return n, invalid("day %02d (%02d less 60) does not exist in %04d-%02d", dd+60, dd, year, mm)
		}
		return n, invalid("day %02d does not exist in %04d-%02d", dd, year, mm)
	}
	if len(digits) == 10 && sep != '+' && birth.After(now) {
		// Born this century would be in the future: the previous century.
		birth = birth.AddDate(-100, 0, 0)
	}
	if birth.After(now) {
		return n, invalid("date of birth %s is in the future", birth.Format(time.DateOnly))
	}
	if !Luhn(rest) {
		return n, invalid("check digit %c is wrong (Luhn)", rest[9])
	}
	n.Birth = birth
	n.Serial = rest[6:9]
	n.Control = rest[9]
	return n, nil
}

// splitIdentity returns the digits of a 10- or 12-digit identity number
// and its separator ('-', '+' or 0).
func splitIdentity(s string) (string, byte, error) {
	var sep byte
	digits := s
	switch len(s) {
	case 10, 12:
	case 11, 13:
		sep = s[len(s)-5]
		if sep != '-' && sep != '+' {
			return "", 0, invalid("separator must be '-' or '+' before the last four digits")
		}
		digits = s[:len(s)-5] + s[len(s)-4:]
	default:
		return "", 0, invalid("must be 10 or 12 digits, optionally with '-' or '+' before the last four")
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", 0, invalid("must contain only digits and one separator")
		}
	}
	return digits, sep, nil
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// Personnummer checks a Swedish personal identity number (folkbokföringslagen
// 18 §, Skatteverket SKV 704): a real date of birth, not in the future, and a
// correct Luhn check digit. A samordningsnummer is rejected.
func Personnummer(s string) error {
	n, err := ParseIdentityNumber(s, time.Now())
	if err != nil {
		return fmt.Errorf("personnummer: %w", err)
	}
	if n.Coordination {
		return fmt.Errorf("personnummer: %w", invalid("day above 60 makes it a samordningsnummer"))
	}
	return nil
}

// Samordningsnummer checks a Swedish co-ordination number (SKV 707): like
// a personnummer with 60 added to the day of birth.
func Samordningsnummer(s string) error {
	n, err := ParseIdentityNumber(s, time.Now())
	if err != nil {
		return fmt.Errorf("samordningsnummer: %w", err)
	}
	if !n.Coordination {
		return fmt.Errorf("samordningsnummer: %w", invalid("day must be 61-91 (day of birth + 60)"))
	}
	return nil
}

// Organisationsnummer checks a Swedish organisation number (Bolagsverket,
// SKV 709): ten digits NNNNNN-NNNN (the hyphen optional, a "16" century
// prefix allowed), third digit at least 2 so it cannot be a personnummer,
// and a correct Luhn check digit.
func Organisationsnummer(s string) error {
	if err := organisationsnummer(s); err != nil {
		return fmt.Errorf("organisationsnummer: %w", err)
	}
	return nil
}

func organisationsnummer(s string) error {
	digits := s
	switch len(s) {
	case 10, 12:
	case 11, 13:
		if s[len(s)-5] != '-' {
			return invalid("separator must be '-' before the last four digits")
		}
		digits = s[:len(s)-5] + s[len(s)-4:]
	default:
		return invalid("must be 10 digits, optionally with '-' before the last four")
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return invalid("must contain only digits and one '-'")
		}
	}
	if len(digits) == 12 {
		if digits[:2] != "16" {
			return invalid("a 12-digit form must start with 16")
		}
		digits = digits[2:]
	}
	if digits[2] < '2' {
		return invalid("third digit must be 2 or more")
	}
	if !Luhn(digits) {
		return invalid("check digit %c is wrong (Luhn)", digits[9])
	}
	return nil
}

// Postnummer checks a Swedish postal code: five digits, written "NNNNN" or
// "NNN NN", the first digit not 0.
func Postnummer(s string) error {
	digits := s
	if len(s) == 6 {
		if s[3] != ' ' {
			return fmt.Errorf("postnummer: %w", invalid(`must be "NNNNN" or "NNN NN"`))
		}
		digits = s[:3] + s[4:]
	}
	if len(digits) != 5 || strings.Trim(digits, "0123456789") != "" {
		return fmt.Errorf("postnummer: %w", invalid(`must be "NNNNN" or "NNN NN"`))
	}
	if digits[0] == '0' {
		return fmt.Errorf("postnummer: %w", invalid("cannot start with 0"))
	}
	return nil
}
