package model

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/samnav/samnav/contracts/check"
)

// FieldError is one way a record breaks the model: the field's path (e.g.
// "registeredAddress.postalCode", "phoneNumbers[1]"), the rule it breaks
// (a short, stable word such as "required", "type", "pattern", "check"),
// and a message for people.
type FieldError struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// Validate checks a record of concept c, shaped as decoded JSON: a
// map[string]any of attribute name to value, where a value is a string,
// float64, json.Number, Go integer, bool, map[string]any (record), []any
// (list) or nil (absent). Dates are "YYYY-MM-DD", timestamps RFC 3339,
// decimals strings or numbers, enums their code, references the opaque id
// of the other record. The key "id", when present, must be a non-empty
// string. It returns every problem found, nil when there is none; it never
// panics on any input.
func (c *Concept) Validate(rec map[string]any) []FieldError {
	var errs []FieldError
	if id, ok := rec["id"]; ok && id != nil {
		if s, ok := id.(string); !ok || s == "" {
			errs = append(errs, FieldError{"id", "type", "must be a non-empty string"})
		}
	}
	errs = append(errs, validateRecord(c.Attributes, "", rec)...)
	return errs
}

// Validate checks a record of the concept with the given id; see
// Concept.Validate. An unknown concept is one FieldError with rule
// "concept".
func (m *Model) Validate(concept string, rec map[string]any) []FieldError {
	c := m.Concept(concept)
	if c == nil {
		return []FieldError{{Field: "", Rule: "concept", Message: fmt.Sprintf("%q is not a concept of the model", concept)}}
	}
	return c.Validate(rec)
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func validateRecord(attrs []*Attribute, prefix string, rec map[string]any) []FieldError {
	var errs []FieldError
	keys := make([]string, 0, len(rec))
	for k := range rec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if prefix == "" && slices.Contains(ReservedAttributes, k) {
			continue
		}
		if !slices.ContainsFunc(attrs, func(a *Attribute) bool { return a.Name == k }) {
			errs = append(errs, FieldError{join(prefix, k), "unknown", "is not an attribute of the model"})
		}
	}
	for _, a := range attrs {
		p := join(prefix, a.Name)
		v, present := rec[a.Name]
		if !present || v == nil {
			if a.Required {
				errs = append(errs, FieldError{p, "required", "is required"})
			}
			continue
		}
		errs = append(errs, validateValue(a, p, v)...)
	}
	return errs
}

// validateValue checks a present, non-nil value against its attribute.
func validateValue(a *Attribute, p string, v any) []FieldError {
	typeErr := func(want string) []FieldError {
		return []FieldError{{p, "type", fmt.Sprintf("must be %s, got %s", want, describe(v))}}
	}
	var errs []FieldError
	switch a.Type {
	case String, Reference:
		s, ok := v.(string)
		if !ok {
			return typeErr("a string")
		}
		if a.Type == Reference && s == "" {
			return []FieldError{{p, "reference", fmt.Sprintf("must be the id of a %s record", a.Ref)}}
		}
		errs = append(errs, validateString(a, p, s)...)
	case Int, Long:
		n, ok := Integer(v)
		if !ok {
			return typeErr("an integer")
		}
		if a.Type == Int && (n < math.MinInt32 || n > math.MaxInt32) {
			return []FieldError{{p, "range", "must fit an int (32 bits)"}}
		}
		errs = append(errs, validateRange(a.Validation, p, new(big.Rat).SetInt64(n))...)
	case Boolean:
		if _, ok := v.(bool); !ok {
			return typeErr("true or false")
		}
	case Date:
		s, ok := v.(string)
		if !ok {
			return typeErr(`a date "YYYY-MM-DD"`)
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return []FieldError{{p, "format", "must be a date YYYY-MM-DD"}}
		}
	case Timestamp:
		s, ok := v.(string)
		if !ok {
			return typeErr("an RFC 3339 timestamp string")
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return []FieldError{{p, "format", "must be an RFC 3339 timestamp"}}
		}
	case Decimal:
		r, ok := decimal(v)
		if !ok {
			return typeErr("a decimal number")
		}
		if digitsOK(r, a.Precision, a.Scale) != nil {
			return []FieldError{{p, "decimal", fmt.Sprintf("must have at most %d digits, %d after the decimal point", a.Precision, a.Scale)}}
		}
		errs = append(errs, validateRange(a.Validation, p, r)...)
	case Enum:
		s, ok := v.(string)
		if !ok {
			return typeErr("a code")
		}
		if !slices.ContainsFunc(a.Codes, func(c Code) bool { return c.Code == s }) {
			codes := make([]string, len(a.Codes))
			for i, c := range a.Codes {
				codes[i] = c.Code
			}
			return []FieldError{{p, "enum", "must be one of " + strings.Join(codes, ", ")}}
		}
	case Record:
		m, ok := v.(map[string]any)
		if !ok {
			return typeErr("an object")
		}
		errs = append(errs, validateRecord(a.Attributes, p, m)...)
	case List:
		l, ok := v.([]any)
		if !ok {
			return typeErr("a list")
		}
		if a.Validation.MinLength != nil && len(l) < *a.Validation.MinLength {
			errs = append(errs, FieldError{p, "minLength", fmt.Sprintf("must have at least %d items", *a.Validation.MinLength)})
		}
		if a.Validation.MaxLength != nil && len(l) > *a.Validation.MaxLength {
			errs = append(errs, FieldError{p, "maxLength", fmt.Sprintf("must have at most %d items", *a.Validation.MaxLength)})
		}
		if a.Items != nil {
			for i, item := range l {
				ip := fmt.Sprintf("%s[%d]", p, i)
				if item == nil {
					errs = append(errs, FieldError{ip, "required", "a list item cannot be null"})
					continue
				}
				errs = append(errs, validateValue(a.Items, ip, item)...)
			}
		}
	}
	return errs
}

// validateString checks a string or reference value: first the text
// rules every value is held to (CheckText), then the attribute's own.
func validateString(a *Attribute, p, s string) []FieldError {
	if rule, msg := CheckText(s); rule != "" {
		return []FieldError{{p, rule, msg}}
	}
	v := a.Validation
	var errs []FieldError
	n := utf8.RuneCountInString(s)
	if v.MinLength != nil && n < *v.MinLength {
		errs = append(errs, FieldError{p, "minLength", fmt.Sprintf("must be at least %d characters", *v.MinLength)})
	}
	if v.MaxLength != nil && n > *v.MaxLength {
		errs = append(errs, FieldError{p, "maxLength", fmt.Sprintf("must be at most %d characters", *v.MaxLength)})
	}
	if v.pattern != nil && !v.pattern.MatchString(s) {
		errs = append(errs, FieldError{p, "pattern", fmt.Sprintf("must match %s", v.Pattern)})
	}
	if v.Check != "" {
		if c := check.Named[v.Check]; c != nil {
			if err := c(s); err != nil {
				errs = append(errs, FieldError{p, "check", checkMessage(a, v.Check, err)})
			}
		}
	}
	return errs
}

// checkMessage words a failed named check. A check's own words may quote
// parts of the value (a date of birth, a check digit), so for an attribute
// classified as personal data they are replaced by the check's name.
func checkMessage(a *Attribute, check string, err error) string {
	if a.Personal() {
		return "is not a valid " + check
	}
	return err.Error()
}

func validateRange(v Validation, p string, r *big.Rat) []FieldError {
	var errs []FieldError
	if v.Min != nil {
		if min := new(big.Rat).SetFloat64(*v.Min); min != nil && r.Cmp(min) < 0 {
			errs = append(errs, FieldError{p, "min", fmt.Sprintf("must be at least %v", *v.Min)})
		}
	}
	if v.Max != nil {
		if max := new(big.Rat).SetFloat64(*v.Max); max != nil && r.Cmp(max) > 0 {
			errs = append(errs, FieldError{p, "max", fmt.Sprintf("must be at most %v", *v.Max)})
		}
	}
	return errs
}

func decimal(v any) (*big.Rat, bool) {
	switch n := v.(type) {
	case string:
		return parseDecimal(n)
	case json.Number:
		return parseDecimal(string(n))
	case float64:
		if math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, false
		}
		return parseDecimal(strconv.FormatFloat(n, 'f', -1, 64))
	case int, int32, int64:
		i, _ := Integer(n)
		return new(big.Rat).SetInt64(i), true
	}
	return nil, false
}

// parseDecimal accepts plain decimal notation only ("-12.50"), no exponents
// or fractions, so a huge exponent cannot make it allocate without bound.
func parseDecimal(s string) (*big.Rat, bool) {
	t := strings.TrimPrefix(s, "-")
	if t == "" || len(t) > 80 || strings.Trim(t, "0123456789.") != "" || strings.Count(t, ".") > 1 || t == "." {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// digitsOK reports whether r fits a decimal(precision, scale).
func digitsOK(r *big.Rat, precision, scale int) error {
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	if !scaled.IsInt() {
		return fmt.Errorf("more than %d decimals", scale)
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(precision)), nil)
	if new(big.Int).Abs(scaled.Num()).Cmp(limit) >= 0 {
		return fmt.Errorf("more than %d digits", precision)
	}
	return nil
}

func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, json.Number, int, int32, int64:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%T", v)
}

// ApplyDefaults sets every absent (or nil) attribute that has a default to
// that default, in rec and in its nested records, and returns rec. Call it
// before encoding a record whose writer left optional attributes out.
func (c *Concept) ApplyDefaults(rec map[string]any) map[string]any {
	applyDefaults(c.Attributes, rec)
	return rec
}

func applyDefaults(attrs []*Attribute, rec map[string]any) {
	for _, a := range attrs {
		v, ok := rec[a.Name]
		if (!ok || v == nil) && a.HasDefault {
			if _, isList := a.Default.([]any); isList {
				rec[a.Name] = []any{}
			} else {
				rec[a.Name] = a.Default
			}
			continue
		}
		switch a.Type {
		case Record:
			if m, ok := v.(map[string]any); ok {
				applyDefaults(a.Attributes, m)
			}
		case List:
			if l, ok := v.([]any); ok && a.Items != nil && a.Items.Type == Record {
				for _, item := range l {
					if m, ok := item.(map[string]any); ok {
						applyDefaults(a.Items.Attributes, m)
					}
				}
			}
		}
	}
}
