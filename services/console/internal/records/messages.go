package records

import (
	"embed"

	"github.com/samnav/samnav/services/console/internal/site"
)

// messageFiles holds the records pages' and the bulk import's texts in Swedish and English.
//
//go:embed messages_*.yaml
var messageFiles embed.FS

var _ = site.LoadMessages(messageFiles)
