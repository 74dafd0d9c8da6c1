// Package records is the console's steward workspace: lists and searches of
// records, a record with its history, the forms that create, edit and end
// records (generated from the model), what changed between revisions, the
// labels of referenced records, and bulk import from CSV.
package records

import (
	"net/http"

	"github.com/samnav/samnav/services/console/internal/site"
)

// pages are the records area's handlers, on the shared site.
type pages struct {
	*site.Site
	// imports are the import jobs (the import feature's pages only).
	imports *importJobs
}

// page registers h as s.Page does, with the request's reference namer
// (reference.go) set up first.
func (s *pages) page(pattern string, h site.HandlerFunc) {
	s.Page(pattern, func(w http.ResponseWriter, r *site.Request) error {
		site.Local(r, refsKey{}, func() *refNamer { return &refNamer{s: s} })
		return h(w, r)
	})
}
