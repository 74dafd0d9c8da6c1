package kafkaview_test

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/kafkaview"
)

func TestACLsAreManagedAndValid(t *testing.T) {
	s := client.Subscription{ID: "s1", System: "skolplattform", Concept: "person", Major: 1, Channel: client.ChannelKafka}
	acls := kafkaview.ACLs(s)
	if len(acls) != 7 {
		t.Fatalf("ACLs = %v, want read+describe on the view topic, read on the group prefix, create+write+read+describe on the dead-letter prefix", acls)
	}
	for _, a := range acls {
		if err := a.Validate(); err != nil {
			t.Errorf("%s: %v", a, err)
		}
		if !kafkaview.Managed(a) {
			t.Errorf("%s: ACLs made an entry Managed does not recognise (Reconcile would never remove it)", a)
		}
		if a.Principal != "User:skolplattform" {
			t.Errorf("%s: principal is not the system's", a)
		}
	}
	cmds := kafkaview.Commands("kafka:9092", acls)
	if len(cmds) != 7 || !strings.Contains(cmds[2], "--group skolplattform. --resource-pattern-type prefixed") ||
		!strings.Contains(cmds[3], "--operation CREATE --topic samnav.view.skolplattform.person.v1.dlq.skolplattform. --resource-pattern-type prefixed") {
		t.Errorf("Commands = %q", cmds)
	}
}

func TestManagedLeavesOtherACLsAlone(t *testing.T) {
	base := kafkaview.ACL{Principal: "User:skol", ResourceType: "TOPIC", ResourceName: "samnav.view.skol.person.v1", PatternType: "LITERAL", Operation: "READ", Permission: "ALLOW", Host: "*"}
	with := func(f func(*kafkaview.ACL)) kafkaview.ACL { a := base; f(&a); return a }
	// prefixed is base on the topics starting with name, for operation op.
	prefixed := func(name, op string) kafkaview.ACL {
		return with(func(a *kafkaview.ACL) { a.ResourceName, a.PatternType, a.Operation = name, "PREFIXED", op })
	}
	for _, tc := range []struct {
		name string
		acl  kafkaview.ACL
		want bool
	}{
		{"view topic read", base, true},
		{"view topic describe", with(func(a *kafkaview.ACL) { a.Operation = "DESCRIBE" }), true},
		{"group prefix read", with(func(a *kafkaview.ACL) { a.ResourceType, a.ResourceName, a.PatternType = "GROUP", "skol.", "PREFIXED" }), true},
		{"another system's view", with(func(a *kafkaview.ACL) { a.ResourceName = "samnav.view.skolplattform.person.v1" }), false},
		{"state topic", with(func(a *kafkaview.ACL) { a.ResourceName = "samnav.person.v1" }), false},
		{"write", with(func(a *kafkaview.ACL) { a.Operation = "WRITE" }), false},
		{"deny", with(func(a *kafkaview.ACL) { a.Permission = "DENY" }), false},
		{"one host", with(func(a *kafkaview.ACL) { a.Host = "10.0.0.1" }), false},
		{"prefixed topic", with(func(a *kafkaview.ACL) { a.PatternType = "PREFIXED" }), false},
		{"other group", with(func(a *kafkaview.ACL) { a.ResourceType, a.ResourceName, a.PatternType = "GROUP", "ops.", "PREFIXED" }), false},
		{"dead-letter prefix create", prefixed("samnav.view.skol.person.v1.dlq.skol.", "CREATE"), true},
		{"dead-letter prefix write", prefixed("samnav.view.skol.person.v1.dlq.skol.", "WRITE"), true},
		{"dead-letter prefix of another system's groups", prefixed("samnav.view.skol.person.v1.dlq.ops.", "WRITE"), false},
		{"dead-letter prefix delete", prefixed("samnav.view.skol.person.v1.dlq.skol.", "DELETE"), false},
		{"prefix of every view", prefixed("samnav.view.skol.", "WRITE"), false},
		{"not a user", with(func(a *kafkaview.ACL) { a.Principal = "Group:skol" }), false},
	} {
		if got := kafkaview.Managed(tc.acl); got != tc.want {
			t.Errorf("%s: Managed(%s) = %v, want %v", tc.name, tc.acl, got, tc.want)
		}
	}
}

func TestCompactionBounds(t *testing.T) {
	if _, err := kafkaview.New(kafkaview.Config{MaxCompactionLag: time.Microsecond, DeleteRetention: -time.Second}); err == nil ||
		!strings.Contains(err.Error(), "MaxCompactionLag: must be 0 (default 1h0m0s) or at least 1ms") || !strings.Contains(err.Error(), "DeleteRetention: must not be negative") {
		t.Errorf("New with bad bounds = %v, want both named with their rule", err)
	}
	got := kafkaview.Config{}.TopicConfigs()
	want := map[string]string{"max.compaction.lag.ms": "3600000", "segment.ms": "3600000", "delete.retention.ms": "604800000"}
	if !maps.Equal(got, want) {
		t.Errorf("default TopicConfigs = %v, want %v", got, want)
	}
	got = kafkaview.Config{MaxCompactionLag: 15 * time.Minute, DeleteRetention: time.Hour}.TopicConfigs()
	want = map[string]string{"max.compaction.lag.ms": "900000", "segment.ms": "900000", "delete.retention.ms": "3600000"}
	if !maps.Equal(got, want) {
		t.Errorf("TopicConfigs = %v, want %v", got, want)
	}
}
