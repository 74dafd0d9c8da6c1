// Projection at send time: a queued message is projected again before every attempt, with the
// subscription as it is then and the record's latest protection.

package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/projection"
)

// SubscriptionFunc looks a subscription up by id; ok is false if there is
// none.
type SubscriptionFunc func(ctx context.Context, id string) (sub client.Subscription, ok bool, err error)

// projections builds, once per shape, the projection of each
// subscription: package projection's, the one every channel uses.
type projections struct {
	model   *model.Model
	schemas map[string]string

	mu    sync.Mutex
	bySub map[string]shaped
}

// shaped is the projection built for one subscription's shape.
type shaped struct {
	concept, fields string
	major           int
	protected       bool
	p               *projection.Projection
	c               *model.Concept
}

// get returns sub's projection and concept, built again when sub's shape
// (concept, fields, protected identities) changed since the last call.
func (ps *projections) get(sub client.Subscription) (*projection.Projection, *model.Concept, error) {
	want := shaped{concept: sub.Concept, major: sub.Major, fields: fmt.Sprint(sub.ApprovedFields), protected: sub.ProtectedApproved}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if got, ok := ps.bySub[sub.ID]; ok && got.concept == want.concept && got.major == want.major && got.fields == want.fields && got.protected == want.protected {
		return got.p, got.c, nil
	}
	c := ps.model.Concept(sub.Concept)
	schema := ps.schemas[sub.Concept]
	if c == nil || schema == "" {
		return nil, nil, fmt.Errorf("project for %s: concept %q is not in the model", sub.ID, sub.Concept)
	}
	if c.Major != sub.Major {
		return nil, nil, fmt.Errorf("project for %s: subscription is to %s v%d, the model has v%d", sub.ID, sub.Concept, sub.Major, c.Major)
	}
	p, err := projection.New(c, schema, slices.Clone(sub.ApprovedFields), sub.ProtectedApproved)
	if err != nil {
		return nil, nil, fmt.Errorf("project for %s: %w", sub.ID, err)
	}
	want.p, want.c = p, c
	ps.bySub[sub.ID] = want
	return p, c, nil
}

// project returns the body to send for m now: m's Body with its Data
// projected by the subscription's current projection, the record's
// current protection applied. If the message must not be sent at all
// (its subscription no longer delivers) it returns why, and no body. An
// error (the subscription or the record's latest state could not be read)
// means: not now, try again.
//
// The current protection is the stricter of the message's own state and
// the newest state of the record queued for the subscription (Store.Newest):
// a person who became protected after the message was queued is sent
// shielded, and one whose protection was lifted since is still shielded
// in what was recorded while they were protected. The newest state is
// what the pipeline gave this channel last: it lags the master by the
// pipeline's lag only (an attempt made within that lag still sends the
// state it had; the change that protects the person follows it, per key
// in order, with the shielded fields null, and overwrites it).
func (s *Service) project(ctx context.Context, m Message) (body []byte, withheld string, err error) {
	sub, ok, err := s.cfg.Subscriptions(ctx, m.SubscriptionID)
	if err != nil {
		return nil, "", fmt.Errorf("get subscription %s: %w", m.SubscriptionID, err)
	}
	if !ok {
		return nil, fmt.Sprintf("subscription %s no longer exists", m.SubscriptionID), nil
	}
	if !sub.Delivering() {
		return nil, fmt.Sprintf("subscription %s is %s: it no longer delivers", sub.ID, sub.Status), nil
	}
	p, c, err := s.projections.get(sub)
	if err != nil {
		return nil, "", err
	}
	env, err := decodeEnvelope(m.Body)
	if err != nil {
		return nil, "", fmt.Errorf("read message %d: %w", m.ID, err)
	}
	if env.Data != nil {
		state := env.Data
		if !sub.ProtectedApproved && c.HasShielded() && !c.Protected(state) {
			if state, err = s.currentProtection(ctx, c, m, state); err != nil {
				return nil, "", err
			}
		}
		if env.Data, err = s.apply(ctx, p, state); err != nil {
			return nil, "", fmt.Errorf("project message %d: %w", m.ID, err)
		}
	}
	body, err = json.Marshal(env)
	if err != nil {
		return nil, "", fmt.Errorf("encode message %d: %w", m.ID, err)
	}
	return body, "", nil
}

// currentProtection returns state, which is not a protected identity,
// with the protection marker of the newest queued state of its record
// when that one is protected (model.Concept.Protected: a marker other
// than NONE, or none readable), so that the projection shields it. An
// erasure is no state and no protection: when the newest message is the
// record's erasure, state is returned as it is (the erasure follows it).
func (s *Service) currentProtection(ctx context.Context, c *model.Concept, m Message, state map[string]any) (map[string]any, error) {
	newest, err := s.cfg.Store.Newest(ctx, m.SubscriptionID, m.Key)
	if err != nil {
		return nil, fmt.Errorf("get newest state of message %d's record: %w", m.ID, err)
	}
	if newest.ID == m.ID {
		return state, nil
	}
	latest, err := decodeEnvelope(newest.Body)
	if err != nil {
		return nil, fmt.Errorf("read message %d: %w", newest.ID, err)
	}
	if latest.Data == nil || !c.Protected(latest.Data) {
		return state, nil
	}
	out := maps.Clone(state)
	if marker, ok := latest.Data[model.ProtectedAttribute].(string); ok {
		out[model.ProtectedAttribute] = marker
	} else {
		delete(out, model.ProtectedAttribute)
	}
	return out, nil
}

// decodeEnvelope reads a stored body; numbers stay json.Number, so they
// are sent again exactly as they were written.
func decodeEnvelope(b []byte) (Envelope, error) {
	var env Envelope
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&env); err != nil {
		return Envelope{}, fmt.Errorf("decode stored body: %w", err)
	}
	return env, nil
}

// apply projects state with p, and, for a record whose protecting
// references p must check (projection.Referring: an employee, for a
// subscription not approved for protected identities), with the
// referenced records' protection as it is now, so that an employee whose
// person became protected after the message was queued is sent without
// the fields that locate them.
func (s *Service) apply(ctx context.Context, p *projection.Projection, state map[string]any) (map[string]any, error) {
	if !p.Referring() {
		return p.Apply(state), nil
	}
	found := map[*model.Attribute]bool{}
	for a, id := range p.References(state) {
		if s.cfg.Protected == nil {
			found[a] = true
			continue
		}
		prot, err := s.cfg.Protected(ctx, a.Ref, id)
		if err != nil {
			return nil, fmt.Errorf("read protection of a referenced %s: %w", a.Ref, err)
		}
		found[a] = prot
	}
	return p.ApplyReferring(state, func(a *model.Attribute, _ string) bool { return found[a] }), nil
}
