package model

import (
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The rules a text breaks that no concept file can relax: every string
// (and reference) value of every concept is held to them, because a
// value that looks different from what it is misleads every reader
// downstream, and because PostgreSQL refuses NUL where SQLite stores it.
// The model has no multi-line text, so tab and newline are refused too.
const (
	// RuleControl: a C0 control (U+0000-U+001F, tab and newline
	// included), DEL (U+007F) or a C1 control (U+0080-U+009F).
	RuleControl = "control-character"
	// RuleBidi: a bidirectional control, which can make a value display
	// reversed or reordered (U+202A-U+202E, U+2066-U+2069, U+200E,
	// U+200F, U+061C).
	RuleBidi = "bidi-control"
	// RuleInvalidUnicode: bytes that are not UTF-8, or U+FFFD. Go's
	// encoding/json decodes an unpaired surrogate escape ("\ud800") and
	// an invalid byte to U+FFFD without an error, so U+FFFD in a decoded
	// value is the trace of input that was not text; the replacement
	// character is never part of a real name or address, so it is
	// refused as well when sent as itself.
	RuleInvalidUnicode = "invalid-unicode"
)

// CheckText returns the rule text s breaks (RuleControl, RuleBidi or
// RuleInvalidUnicode) and a message naming the code point, which is never
// a letter of the value; "" and "" when s is acceptable text. It is the
// one test every text the hub takes in goes through: attribute values
// (through Validate) and the reasons given for changes.
func CheckText(s string) (rule, message string) {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return RuleInvalidUnicode, "is not valid UTF-8"
			}
			return RuleInvalidUnicode, "contains U+FFFD, the trace of an unpaired surrogate escape (\\ud800-\\udfff) or of bytes that are not UTF-8"
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return RuleControl, fmt.Sprintf("must not contain control characters (found U+%04X)", r)
		case isBidiControl(r):
			return RuleBidi, fmt.Sprintf("must not contain bidirectional controls (found U+%04X)", r)
		}
	}
	return "", ""
}

func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}

// NormalizeText returns s in Unicode Normalization Form C, the form the
// hub stores and compares text in: "å" written as "a" and a combining ring
// becomes the one code point U+00E5, so that equal names are equal bytes
// for natural keys, filters, search and every subscriber.
func NormalizeText(s string) string { return norm.NFC.String(s) }

// Normalize puts every string value of rec, in nested records and lists
// too, in NFC (see NormalizeText), in place, and returns rec. Call it once
// on the way in, before Validate, so that lengths and patterns are checked
// on what will be stored. Values of other types, and keys that are not
// attributes, are left as they are.
func (c *Concept) Normalize(rec map[string]any) map[string]any {
	normalizeRecord(c.Attributes, rec)
	return rec
}

func normalizeRecord(attrs []*Attribute, rec map[string]any) {
	for _, a := range attrs {
		if v, ok := rec[a.Name]; ok && v != nil {
			rec[a.Name] = normalizeValue(a, v)
		}
	}
}

func normalizeValue(a *Attribute, v any) any {
	switch a.Type {
	case String:
		if s, ok := v.(string); ok {
			return NormalizeText(s)
		}
	case Record:
		if m, ok := v.(map[string]any); ok {
			normalizeRecord(a.Attributes, m)
		}
	case List:
		if l, ok := v.([]any); ok && a.Items != nil {
			for i, item := range l {
				if item != nil {
					l[i] = normalizeValue(a.Items, item)
				}
			}
		}
	}
	return v
}
