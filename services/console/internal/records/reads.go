package records

import (
	"strings"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/site"
	masterdata "github.com/samnav/samnav/services/masterdata/client"
)

// readEntry is one row of a record page's read log.
type readEntry struct {
	masterdata.Read
	// Basis, Path and Fields in the page's language.
	BasisText, PathText, FieldsText string
}

// maySeeReads reports whether p may see read logs: admins and auditors,
// as master data decides (its read log answers them only).
func maySeeReads(p *auth.Principal) bool {
	if p.Can(auth.ActionAdmin, "") {
		return true
	}
	for _, g := range p.Grants {
		if g.Role == auth.RoleAuditor {
			return true
		}
	}
	return false
}

// readLog returns the read log of rec (a record of c) for the record
// page, and whether the page shows one: only to admins and auditors, and
// only for a concept that holds personal data (master data records no
// other reads).
func (s *pages) readLog(r *site.Request, c *model.Concept, id string) ([]readEntry, bool, error) {
	if !maySeeReads(r.Principal()) || !c.HoldsPersonalData() {
		return nil, false, nil
	}
	reads, err := s.API.Masterdata(r.Token()).Reads(r.Context(), c.ID, id)
	if err != nil {
		return nil, true, err
	}
	out := make([]readEntry, len(reads))
	for i, rd := range reads {
		out[i] = readEntry{Read: rd, BasisText: r.T("records.reads.basis." + string(rd.Basis)), PathText: r.T("records.reads.path." + string(rd.Path)),
			FieldsText: strings.Join(s.AttrLabels(r, c.ID, rd.Fields), ", ")}
	}
	return out, true, nil
}
