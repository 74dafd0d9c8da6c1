// Package i18n is the console's message catalogue: every visible string,
// in Swedish (the default) and English, looked up by a stable key.
package i18n

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sync"

	"gopkg.in/yaml.v3"
)

// Lang is a language the console speaks.
type Lang string

// The console's languages; Swedish is the default.
const (
	SV Lang = "sv"
	EN Lang = "en"
)

// Default is the language of a visitor who has not chosen one.
const Default = SV

// Langs lists every language, the default first.
var Langs = []Lang{SV, EN}

// Parse returns the language s names ("sv" or "en") and whether it is one.
func Parse(s string) (Lang, bool) {
	l := Lang(s)
	return l, slices.Contains(Langs, l)
}

// Other returns the language a switch link offers from l.
func (l Lang) Other() Lang {
	if l == EN {
		return SV
	}
	return EN
}

// Message is one text in every language. Texts may hold fmt verbs, the
// same ones in the same order in each language.
type Message struct {
	SV string `yaml:"sv"`
	EN string `yaml:"en"`
}

// In returns the text in language l.
func (m Message) In(l Lang) string {
	if l == EN {
		return m.EN
	}
	return m.SV
}

// Decode reads a message file: a YAML mapping from each key to its texts,
//
//	catalogue.title:
//	  sv: Begreppskatalog
//	  en: Concept catalogue
//
// A key given twice, a language the console does not speak or anything
// but that shape is an error naming the line; a missing language is left
// for Check to report.
func Decode(data []byte) (map[string]Message, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	ms := map[string]Message{}
	if err := dec.Decode(&ms); err != nil {
		return nil, fmt.Errorf("decode messages: %w", err)
	}
	return ms, nil
}

// Catalogue holds the messages. Add is meant for start-up (package
// variable initialisation); lookups are safe for concurrent use.
type Catalogue struct {
	mu   sync.RWMutex
	msgs map[string]Message
}

// NewCatalogue returns an empty catalogue.
func NewCatalogue() *Catalogue { return &Catalogue{msgs: map[string]Message{}} }

// Add adds messages; a key already present is an error naming it, and
// then nothing is added.
func (c *Catalogue) Add(ms map[string]Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for k := range ms {
		if _, dup := c.msgs[k]; dup {
			errs = append(errs, fmt.Errorf("message %q: defined twice", k))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for k, m := range ms {
		c.msgs[k] = m
	}
	return nil
}

// Has reports whether key is in the catalogue.
func (c *Catalogue) Has(key string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.msgs[key]
	return ok
}

// T returns the message key in language l, formatted with args. A missing
// key shows as "[key]", so that it is visible on the page and in tests.
func (c *Catalogue) T(l Lang, key string, args ...any) string {
	c.mu.RLock()
	m, ok := c.msgs[key]
	c.mu.RUnlock()
	if !ok {
		return "[" + key + "]"
	}
	s := m.In(l)
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Keys returns every key, sorted.
func (c *Catalogue) Keys() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Sorted(maps.Keys(c.msgs))
}

var verb = regexp.MustCompile(`%(?:\[\d+\])?[-+# 0-9.]*(?:\[\d+\])?[a-zA-Z%]`)

// Check reports every message that lacks a language or whose languages
// disagree on their fmt verbs, naming the key and the rule.
func (c *Catalogue) Check() error {
	var errs []error
	for _, k := range c.Keys() {
		m := c.msgs[k]
		if m.SV == "" {
			errs = append(errs, fmt.Errorf("message %q: sv: required", k))
		}
		if m.EN == "" {
			errs = append(errs, fmt.Errorf("message %q: en: required", k))
		}
		if !slices.Equal(verb.FindAllString(m.SV, -1), verb.FindAllString(m.EN, -1)) {
			errs = append(errs, fmt.Errorf("message %q: verbs: sv and en must hold the same fmt verbs in the same order", k))
		}
	}
	return errors.Join(errs...)
}
