package model

import (
	"errors"
	"strconv"
	"strings"
)

// FromText turns a value typed as text (a form field, a CSV cell) into the
// JSON-shaped value Validate takes for a scalar attribute a: a whole
// number for int and long, a boolean for boolean, and the text itself for
// every other type, which Validate reads from text (a decimal's comma is
// taken as its decimal point). The console's forms and the bulk importer
// read values this one way. A list's items are read one by one through
// a.Items; how a list is split is the caller's (lines, "|"). The error
// names the rule and never holds the value.
func (a *Attribute) FromText(s string) (any, error) {
	switch a.Type {
	case Int, Long:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, errors.New("must be a whole number")
		}
		return n, nil
	case Boolean:
		switch strings.ToLower(s) {
		case "true", "t", "1", "ja", "yes":
			return true, nil
		case "false", "f", "0", "nej", "no":
			return false, nil
		}
		return nil, errors.New("must be true or false (ja or nej)")
	case Decimal:
		return strings.ReplaceAll(s, ",", "."), nil
	}
	return s, nil
}
