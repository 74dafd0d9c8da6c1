package systems

import "github.com/samnav/samnav/services/console/internal/site"

// pages are the systems area's handlers, on the shared site.
type pages struct {
	*site.Site
}
