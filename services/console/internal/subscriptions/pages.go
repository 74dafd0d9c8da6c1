package subscriptions

import "github.com/samnav/samnav/services/console/internal/site"

// pages are the subscriptions area's handlers, on the shared site.
type pages struct {
	*site.Site
}
