// Package flow is the console's live flow: the latest changes and each
// system they were handed to, with the channel, the state and the fields.
package flow

import "github.com/samnav/samnav/services/console/internal/site"

// pages are the flow area's handlers, on the shared site.
type pages struct {
	*site.Site
}

// newPages builds the area's handlers on st (site.Area.New).
func newPages(st *site.Site) *pages { return &pages{Site: st} }
