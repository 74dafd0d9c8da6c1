// Package subscriptions is the console's subscription pages: the list with
// filters and lag, a system's request form, the information owner's
// approve, narrow or reject, the history of decisions, and each webhook
// endpoint with its delivery log and redelivery.
package subscriptions

import "github.com/samnav/samnav/services/console/internal/site"

// pages are the subscriptions area's handlers, on the shared site.
type pages struct {
	*site.Site
}

// newPages builds the area's handlers on st (site.Area.New).
func newPages(st *site.Site) *pages { return &pages{Site: st} }
