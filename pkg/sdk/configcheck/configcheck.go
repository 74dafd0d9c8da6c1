// Package configcheck holds the rules a configuration's numbers keep
// (not negative, positive, at least a minimum), worded once the way every
// Samnav configuration reports them: the field, the rule, and the value
// given ("batch size: must not be negative, got -1"). Each rule returns
// nil when the value keeps it, so a Validate lists its rules in one
// errors.Join, which drops the nils and reports every problem at once.
package configcheck

import "fmt"

// Number is what the rules compare: integers, durations (a time.Duration
// is an int64) and floats.
type Number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// NotNegative is the rule that v, the value of field, is 0 or more (0
// usually meaning "the default").
func NotNegative[N Number](field string, v N) error {
	if v < 0 {
		return fmt.Errorf("%s: must not be negative, got %v", field, v)
	}
	return nil
}

// Positive is the rule that v, the value of field, is more than 0.
func Positive[N Number](field string, v N) error {
	if v <= 0 {
		return fmt.Errorf("%s: must be positive, got %v", field, v)
	}
	return nil
}

// AtLeast is the rule that v, the value of field, is least or more.
func AtLeast[N Number](field string, v, least N) error {
	if v < least {
		return fmt.Errorf("%s: must be at least %v, got %v", field, least, v)
	}
	return nil
}
