package console

// The console's areas. Each registers its routes, navigation, messages and
// template functions with the site when its package is initialised; the
// site wires them in New.
import (
	_ "github.com/samnav/samnav/services/console/internal/catalogue"     // the concept catalogue
	_ "github.com/samnav/samnav/services/console/internal/flow"          // the live flow
	_ "github.com/samnav/samnav/services/console/internal/records"       // the steward workspace and import
	_ "github.com/samnav/samnav/services/console/internal/subscriptions" // subscriptions and webhooks
	_ "github.com/samnav/samnav/services/console/internal/systems"       // the system map
)
