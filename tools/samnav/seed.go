package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/masterdata/record"
	"github.com/samnav/samnav/tools/samnav/internal/synthcity"
)

// seedCity loads a synthetic city into master data through the same Service
// every writer uses: records of concepts an external system masters are
// published as that system (folkbokföring for persons, Bolagsverket for
// organisations, the HR system for employees), the hub's own concepts are
// written as a steward. It returns how many records it created.
func seedCity(ctx context.Context, svc record.Service, m *model.Model, recs []synthcity.Record, progress func(done, total int)) (int, error) {
	ids := make(map[string]string, len(recs))
	principals := map[string]context.Context{}
	for i, r := range recs {
		c := m.Concept(r.Concept)
		if c == nil {
			return i, fmt.Errorf("seed %s: concept %q is not in the model", r.Key, r.Concept)
		}
		pctx, ok := principals[c.ID]
		if !ok {
			pctx = auth.WithPrincipal(ctx, seedPrincipal(c))
			principals[c.ID] = pctx
		}
		fields, err := synthcity.Resolve(r.Fields, func(ref synthcity.Ref) (string, bool) {
			id, ok := ids[string(ref)]
			return id, ok
		})
		if err != nil {
			return i, fmt.Errorf("seed %s: %w", r.Key, err)
		}
		rec, err := svc.Create(pctx, c.ID, fields, "synthetic city for samnav dev")
		if err != nil {
			return i, fmt.Errorf("seed %s: %w", r.Key, err)
		}
		ids[r.Key] = rec.ID
		if progress != nil {
			progress(i+1, len(recs))
		}
	}
	return len(recs), nil
}

// seedPrincipal is who writes a concept's seed records: its master system,
// or a hub steward for the concepts the hub masters.
func seedPrincipal(c *model.Concept) *auth.Principal {
	if c.Master == record.HubSystem {
		return &auth.Principal{Subject: "samnav-dev-seed", Kind: auth.KindSystem, Name: "samnav dev seed",
			Grants: []auth.Grant{{Role: auth.RoleSteward, Concepts: []string{auth.AnyConcept}}}}
	}
	return &auth.Principal{Subject: c.Master, Kind: auth.KindSystem, Name: c.Master + " (synthetic feed)",
		Grants: []auth.Grant{{Role: auth.RolePublisher, System: c.Master}}}
}

// seed loads the synthetic city unless master data already holds records.
func (h *devHub) seed(ctx context.Context, out io.Writer) error {
	m, err := h.model()
	if err != nil {
		return err
	}
	admin := auth.WithPrincipal(ctx, &auth.Principal{Subject: "samnav-dev", Kind: auth.KindSystem, Grants: []auth.Grant{{Role: auth.RoleAdmin}}})
	page, err := h.master.Service().List(admin, "namnd", record.ListQuery{Limit: 1, IncludeEnded: true})
	if err != nil {
		return fmt.Errorf("seed: look for existing records: %w", err)
	}
	if len(page.Records) > 0 {
		_, _ = fmt.Fprintln(out, "Master data already holds records: not seeding.")
		return nil
	}
	recs := synthcity.City(h.cfg.Seed, h.cfg.SeedSize)
	_, _ = fmt.Fprintf(out, "Seeding a synthetic city (seed %d): %d records ...\n", h.cfg.Seed, len(recs))
	start := time.Now()
	n, err := seedCity(ctx, h.master.Service(), m, recs, func(done, total int) {
		if done%2000 == 0 || done == total {
			_, _ = fmt.Fprintf(out, "  %d/%d records (%.0f/s)\n", done, total, float64(done)/time.Since(start).Seconds())
		}
	})
	if err != nil {
		return fmt.Errorf("seed after %d records: %w", n, err)
	}
	_, _ = fmt.Fprintf(out, "Seeded %d records in %s; the relay publishes them to Kafka.\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}
