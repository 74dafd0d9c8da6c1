package site

import "embed"

// messageFiles holds the layout's, sign-in's and error pages' texts in
// Swedish and English.
//
//go:embed messages_*.yaml
var messageFiles embed.FS

var _ = LoadMessages(messageFiles)
