// Package systems is the console's system map: every system, what it
// masters and receives, and its owner.
package systems

import "github.com/samnav/samnav/services/console/internal/site"

// pages are the systems area's handlers, on the shared site.
type pages struct {
	*site.Site
}

// newPages builds the area's handlers on st (site.Area.New).
func newPages(st *site.Site) *pages { return &pages{Site: st} }
