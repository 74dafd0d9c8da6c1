// Package systems is Samnav's catalogue of systems: every system that
// masters a concept or receives one, with its name, the nämnd and
// förvaltning that own it, a contact and a description, kept in
// systems.yaml and embedded.
//
// The concept model names each concept's master by system id, and
// subscriptions name their subscribing system by id; this catalogue says
// who those ids are. Every concept's master must be listed (Check).
package systems

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/samnav/samnav/contracts/model"
)

//go:embed systems.yaml
var embedded []byte

// Hub is the id of the hub itself, master of the concepts the city's
// stewards keep in Samnav.
const Hub = "samnav"

// Text is a text in Swedish and English.
type Text struct {
	SV string `yaml:"sv" json:"sv"`
	EN string `yaml:"en" json:"en"`
}

// In returns the text in lang ("sv" or "en"), Swedish otherwise.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	return t.SV
}

// Owner is who owns a system: the nämnd (committee, the data controller)
// and the förvaltning (administration) that runs it.
type Owner struct {
	Namnd       Text `yaml:"namnd" json:"namnd"`
	Forvaltning Text `yaml:"forvaltning" json:"forvaltning"`
}

// System is one entry of the catalogue.
type System struct {
	ID          string `yaml:"id" json:"id"`
	Name        Text   `yaml:"name" json:"name"`
	Owner       Owner  `yaml:"owner" json:"owner"`
	Contact     string `yaml:"contact" json:"contact"`
	Description Text   `yaml:"description" json:"description"`
}

// Catalogue is the list of systems, in file order.
type Catalogue struct {
	Systems []System `yaml:"systems" json:"systems"`
}

// System returns the system with id, or nil.
func (c *Catalogue) System(id string) *System {
	for i := range c.Systems {
		if c.Systems[i].ID == id {
			return &c.Systems[i]
		}
	}
	return nil
}

var idRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// Parse decodes and validates a catalogue. On any problem it returns nil
// and an error listing every problem, each naming the field and the rule.
func Parse(b []byte) (*Catalogue, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var c Catalogue
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("systems: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate reports every problem with c at once.
func (c *Catalogue) Validate() error {
	var errs []error
	if len(c.Systems) == 0 {
		errs = append(errs, errors.New("systems: at least one system is required"))
	}
	seen := map[string]int{}
	for i, s := range c.Systems {
		at := fmt.Sprintf("systems[%d]", i)
		if s.ID != "" {
			at = fmt.Sprintf("systems[%d] (%s)", i, s.ID)
		}
		bad := func(field, rule string) { errs = append(errs, fmt.Errorf("%s.%s: %s", at, field, rule)) }
		switch {
		case s.ID == "":
			bad("id", "required")
		case !idRe.MatchString(s.ID):
			bad("id", "must be lower-case letters, digits and \"-\", starting with a letter, at most 63 characters")
		}
		if j, dup := seen[s.ID]; dup && s.ID != "" {
			bad("id", fmt.Sprintf("must be unique: also systems[%d]", j))
		}
		seen[s.ID] = i
		for field, t := range map[string]Text{"name": s.Name, "owner.namnd": s.Owner.Namnd, "owner.forvaltning": s.Owner.Forvaltning, "description": s.Description} {
			if strings.TrimSpace(t.SV) == "" {
				bad(field+".sv", "required")
			}
			if strings.TrimSpace(t.EN) == "" {
				bad(field+".en", "required")
			}
		}
		if !validContact(s.Contact) {
			bad("contact", "must be an e-mail address or an https URL")
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

func validContact(s string) bool {
	if strings.HasPrefix(s, "https://") {
		u, err := url.Parse(s)
		return err == nil && u.Host != ""
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// Check reports every concept of m whose master is not in c.
func (c *Catalogue) Check(m *model.Model) error {
	var errs []error
	for _, k := range m.Concepts {
		if c.System(k.Master) == nil {
			errs = append(errs, fmt.Errorf("concept %s: master %q is not a system of the catalogue (contracts/systems/systems.yaml)", k.ID, k.Master))
		}
	}
	return errors.Join(errs...)
}

var load = sync.OnceValues(func() (*Catalogue, error) { return Parse(embedded) })

// Load returns the embedded catalogue. Callers must not modify it.
func Load() (*Catalogue, error) { return load() }
