// Package records is the console's steward workspace: lists and searches of
// records, a record with its history, the forms that create, edit and end
// records (generated from the model), what changed between revisions, the
// labels of referenced records, and bulk import from CSV.
package records

import "github.com/samnav/samnav/services/console/internal/site"

// pages are the records area's handlers, on the shared site.
type pages struct {
	*site.Site
	// imports are the import jobs (the import feature's pages only).
	imports *importJobs
}

// nameReferences sets up the request's reference namer (reference.go),
// which asks the API on behalf of s: it runs before every records and
// import page.
func (s *pages) nameReferences(r *site.Request) {
	site.Local(r, refsKey{}, func() *refNamer { return &refNamer{s: s} })
}
