// Access to view topics: the ACLs a subscriber's principal gets, and reconciling the broker's
// topics and ACLs with the approved and revoked subscriptions.

package kafkaview

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/kafkaacl"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	dclient "github.com/samnav/samnav/services/delivery/client"
)

// ACL is one Kafka access control entry.
type ACL = kafkaacl.Entry

// DeadLetterPrefix is the prefix of the dead-letter topics a subscribing
// system may keep beside its view topic: the Go SDK (pkg/sdk/subscriber) names
// them "<view topic>.dlq.<group>", and the system's groups are named
// "<system>.*", so they all start with "<view topic>.dlq.<system>.".
func DeadLetterPrefix(s dclient.Subscription) string {
	return envelope.DeadLetterPrefix(Topic(s), s.System)
}

// ACLs returns the entries that let the subscribing system, as Kafka
// principal "User:<system>", read its view topic and nothing else of the
// hub's: read and describe on the literal view topic, read on consumer
// groups prefixed "<system>.", and create, write, read and describe on
// topics prefixed DeadLetterPrefix, so that the SDK can create its
// dead-letter topic (Config.CreateDeadLetterTopics) and park records
// there, and the system can read them back. The hub cannot create those
// topics for the system: their names end with the group's, which only the
// system knows. With allow.everyone.if.no.acl.found=false (the
// production setting), no other principal reads the topics; the delivery
// service's own principal needs WRITE and DESCRIBE on the prefix
// envelope.ViewTopicPrefix (granted once, not per subscription).
func ACLs(s dclient.Subscription) []ACL {
	p := "User:" + s.System
	t := Topic(s)
	dlq := DeadLetterPrefix(s)
	return []ACL{
		{Principal: p, ResourceType: "TOPIC", ResourceName: t, PatternType: "LITERAL", Operation: "READ", Permission: "ALLOW", Host: "*"},
		{Principal: p, ResourceType: "TOPIC", ResourceName: t, PatternType: "LITERAL", Operation: "DESCRIBE", Permission: "ALLOW", Host: "*"},
		{Principal: p, ResourceType: "GROUP", ResourceName: s.System + ".", PatternType: "PREFIXED", Operation: "READ", Permission: "ALLOW", Host: "*"},
		{Principal: p, ResourceType: "TOPIC", ResourceName: dlq, PatternType: "PREFIXED", Operation: "CREATE", Permission: "ALLOW", Host: "*"},
		{Principal: p, ResourceType: "TOPIC", ResourceName: dlq, PatternType: "PREFIXED", Operation: "WRITE", Permission: "ALLOW", Host: "*"},
		{Principal: p, ResourceType: "TOPIC", ResourceName: dlq, PatternType: "PREFIXED", Operation: "READ", Permission: "ALLOW", Host: "*"},
		{Principal: p, ResourceType: "TOPIC", ResourceName: dlq, PatternType: "PREFIXED", Operation: "DESCRIBE", Permission: "ALLOW", Host: "*"},
	}
}

// Managed reports whether a is of the shape ACLs makes, which Reconcile
// owns: ALLOW from any host for principal User:<system>, either READ or
// DESCRIBE on a literal topic under envelope.SystemViewPrefix, READ on the
// group prefix "<system>.", or CREATE, WRITE, READ or DESCRIBE on a
// envelope.DeadLetterPrefix of such a topic. Reconcile removes
// such an entry when no approved subscription needs it, so other grants
// to a subscriber system must not take this shape.
func Managed(a ACL) bool {
	sys, ok := strings.CutPrefix(a.Principal, "User:")
	if !ok || sys == "" || a.Permission != "ALLOW" || a.Host != "*" {
		return false
	}
	switch {
	case a.ResourceType == "TOPIC" && a.PatternType == "LITERAL" && (a.Operation == "READ" || a.Operation == "DESCRIBE"):
		return strings.HasPrefix(a.ResourceName, envelope.SystemViewPrefix(sys))
	case a.ResourceType == "TOPIC" && a.PatternType == "PREFIXED":
		switch a.Operation {
		case "CREATE", "WRITE", "READ", "DESCRIBE":
			return envelope.IsSystemDeadLetterPrefix(a.ResourceName, sys)
		}
	case a.ResourceType == "GROUP" && a.PatternType == "PREFIXED" && a.Operation == "READ":
		return a.ResourceName == sys+"."
	}
	return false
}

// Reconcile makes the broker match the subscriptions: every approved
// Kafka subscription's ACLs exist (when Config.Auth has a mechanism), no
// other Managed ACL does, and the view topic of every revoked Kafka
// subscription is deleted unless an approved subscription writes the same
// topic. It revokes access before it deletes data, so a failure midway
// leaves data unreadable rather than readable. Every step is idempotent:
// call it at start, after every change and periodically; a failed call is
// repaired by the next. approved and revoked may include other channels'
// subscriptions; only Kafka ones count.
func (c *Channel) Reconcile(ctx context.Context, approved, revoked []dclient.Subscription) error {
	client, done, err := c.cfg.kafka().Client("delivery-admin")
	if err != nil {
		return err
	}
	defer done()
	var errs []error
	keep := map[string]bool{}
	want := map[ACL]bool{}
	for _, s := range approved {
		if s.Channel != dclient.ChannelKafka || !s.Delivering() {
			continue
		}
		keep[Topic(s)] = true
		for _, a := range ACLs(s) {
			want[a] = true
		}
	}
	if c.cfg.Auth.Enabled() {
		if err := c.reconcileACLs(ctx, client, want); err != nil {
			errs = append(errs, err)
		}
	}
	var (
		drop     []string
		prefixes []string // of the dropped views' dead-letter topics
		dropped  []string // the dropped views' subscriptions
	)
	c.mu.Lock()
	for t := range keep {
		delete(c.deleted, t)
	}
	for _, s := range revoked {
		if t := Topic(s); s.Channel == dclient.ChannelKafka && s.Status == dclient.StatusRevoked && !keep[t] && !c.deleted[t] && !slices.Contains(drop, t) {
			drop = append(drop, t)
			prefixes = append(prefixes, DeadLetterPrefix(s))
			dropped = append(dropped, s.ID)
		}
	}
	c.mu.Unlock()
	if len(drop) > 0 {
		// The system's dead-letter topics hold copies of view records:
		// they go with the view.
		dlqs, err := topicsWithPrefix(ctx, client, prefixes)
		if err == nil {
			err = deleteTopics(ctx, client, append(slices.Clone(drop), dlqs...))
		}
		if err == nil && c.cfg.Republishes != nil {
			// A deleted view has nothing left to re-publish.
			for _, id := range dropped {
				err = errors.Join(err, c.cfg.Republishes.ForgetRepublishes(ctx, id))
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
		c.mu.Lock()
		for k, v := range c.views {
			if slices.Contains(drop, v.topic) {
				delete(c.views, k)
			}
		}
		if err == nil {
			for _, t := range drop {
				c.deleted[t] = true
			}
		}
		c.mu.Unlock()
	}
	if len(errs) > 0 {
		return fmt.Errorf("reconcile kafka access: %w", errors.Join(errs...))
	}
	return nil
}

func (c *Channel) reconcileACLs(ctx context.Context, client *kafka.Client, want map[ACL]bool) error {
	have, err := kafkaacl.List(ctx, client, "")
	if errors.Is(err, kafka.SecurityDisabled) {
		return fmt.Errorf("the broker has no authorizer (authorizer.class.name), so subscribers' ACLs cannot be applied and every authenticated client may read every view topic: %w", err)
	}
	if err != nil {
		return err
	}
	var stale []ACL
	present := map[ACL]bool{}
	for _, a := range have {
		present[a] = true
		if Managed(a) && !want[a] {
			stale = append(stale, a)
		}
	}
	var missing []ACL
	for a := range want {
		if !present[a] {
			missing = append(missing, a)
		}
	}
	var errs []error
	if _, err := kafkaacl.Delete(ctx, client, stale...); err != nil {
		errs = append(errs, err)
	}
	if err := kafkaacl.Create(ctx, client, missing...); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// topicsWithPrefix returns the cluster's topics that start with any of
// prefixes.
func topicsWithPrefix(ctx context.Context, client *kafka.Client, prefixes []string) ([]string, error) {
	resp, err := client.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	var out []string
	for _, t := range resp.Topics {
		for _, p := range prefixes {
			if strings.HasPrefix(t.Name, p) {
				out = append(out, t.Name)
				break
			}
		}
	}
	return out, nil
}

// deleteTopics deletes those of topics that exist.
func deleteTopics(ctx context.Context, client *kafka.Client, topics []string) error {
	resp, err := client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: topics})
	if err != nil {
		return fmt.Errorf("delete view topics %v: %w", topics, err)
	}
	var errs []error
	for t, e := range resp.Errors {
		if e != nil && !errors.Is(e, kafka.UnknownTopicOrPartition) {
			errs = append(errs, fmt.Errorf("delete view topic %s: %w", t, e))
		}
	}
	return errors.Join(errs...)
}

// Commands renders acls as kafka-acls.sh invocations against bootstrap.
func Commands(bootstrap string, acls []ACL) []string {
	out := make([]string, 0, len(acls))
	for _, a := range acls {
		res := "--topic"
		if a.ResourceType == "GROUP" {
			res = "--group"
		}
		out = append(out, strings.Join([]string{"kafka-acls.sh --bootstrap-server", bootstrap, "--add --allow-principal", a.Principal,
			"--operation", strings.ToUpper(a.Operation), res, a.ResourceName, "--resource-pattern-type", strings.ToLower(a.PatternType)}, " "))
	}
	return out
}
