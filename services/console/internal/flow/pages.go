package flow

import "github.com/samnav/samnav/services/console/internal/site"

// pages are the flow area's handlers, on the shared site.
type pages struct {
	*site.Site
}
