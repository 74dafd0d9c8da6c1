// Package catalogue is the console's concept catalogue: every concept and
// attribute of the model, with the contracts the registry holds and the
// systems that subscribe.
package catalogue

import "github.com/samnav/samnav/services/console/internal/site"

// pages are the catalogue area's handlers, on the shared site.
type pages struct {
	*site.Site
}

// newPages builds the area's handlers on st (site.Area.New).
func newPages(st *site.Site) *pages { return &pages{Site: st} }
