package site

import (
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"slices"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/i18n"
)

// Feature is a registered area as the Site mounts it: its menu entries
// and the function that registers its handlers.
type Feature struct {
	// Name identifies the feature in errors.
	Name string
	// Nav are the feature's entries in the navigation.
	Nav []NavEntry
	// Routes registers the feature's handlers with s.Page / s.Public.
	Routes func(s *Site)
}

// NavEntry is one link of the navigation. It is shown to a signed-in
// person for whom Visible returns true (nil: to everyone signed in).
type NavEntry struct {
	Path string
	// Label is the message key of the link text.
	Label string
	// Order sorts the navigation, lowest first.
	Order   int
	Visible func(p *auth.Principal) bool
}

var features []Feature

// catalogue holds every message of the console; each feature adds its
// own keys from its embedded messages_<feature>.yaml with LoadMessages.
var catalogue = i18n.NewCatalogue()

// Message is one message of the catalogue, in Swedish and English.
type Message = i18n.Message

// Messages adds messages; a key defined twice panics at start, naming the
// key (a test builds the package, so it never ships).
func Messages(ms map[string]Message) bool {
	if err := catalogue.Add(ms); err != nil {
		panic(fmt.Sprintf("console messages: %v", err))
	}
	return true
}

// LoadMessages adds the messages of every messages_*.yaml file at the root
// of fsys (a feature's embedded files, in the format of i18n.Decode). A
// file that does not decode, or a key defined twice, panics at start naming
// the file and the key; so does an fsys without such files, which would
// leave a feature's pages showing "[key]".
func LoadMessages(fsys fs.FS) bool {
	if err := loadMessages(fsys); err != nil {
		panic(fmt.Sprintf("console messages: %v", err))
	}
	return true
}

func loadMessages(fsys fs.FS) error {
	names, err := fs.Glob(fsys, "messages_*.yaml")
	if err != nil {
		return fmt.Errorf("find message files: %w", err)
	}
	if len(names) == 0 {
		return errors.New("find message files: no messages_*.yaml file")
	}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		ms, err := i18n.Decode(data)
		if err == nil {
			err = catalogue.Add(ms)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// extraFuncs are template functions features add with TemplateFuncs.
var extraFuncs = template.FuncMap{}

// TemplateFuncs adds template functions for every template; a name
// defined twice panics at start.
func TemplateFuncs(fm template.FuncMap) bool {
	for k, f := range fm {
		if _, dup := extraFuncs[k]; dup {
			panic(fmt.Sprintf("console template func %q: defined twice", k))
		}
		extraFuncs[k] = f
	}
	return true
}

// HasMessage reports whether the catalogue holds key, for code that makes
// keys from values (a rule, a check) and falls back when there is none.
func HasMessage(key string) bool { return catalogue.Has(key) }

// CheckMessages reports every message that lacks a language or whose
// languages' fmt verbs differ.
func CheckMessages() error { return catalogue.Check() }

// MessageKeys lists every message key of the areas registered so far.
func MessageKeys() []string { return catalogue.Keys() }

// Features returns the features registered so far, in order.
func Features() []Feature { return slices.Clone(features) }
