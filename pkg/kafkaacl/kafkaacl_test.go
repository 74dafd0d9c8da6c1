package kafkaacl_test

import (
	"context"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/kafkaacl"
)

func TestValidateNamesFieldAndRule(t *testing.T) {
	ok := kafkaacl.Entry{Principal: "User:a", ResourceType: "TOPIC", ResourceName: "t", PatternType: "LITERAL", Operation: "READ", Permission: "ALLOW", Host: "*"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid entry: %v", err)
	}
	for _, tc := range []struct {
		mod  func(*kafkaacl.Entry)
		want string
	}{
		{func(e *kafkaacl.Entry) { e.Principal = "a" }, `principal "a": must be <type>:<name>`},
		{func(e *kafkaacl.Entry) { e.ResourceType = "topic" }, `resourceType "topic": must be one of CLUSTER, GROUP, TOPIC, TRANSACTIONAL_ID`},
		{func(e *kafkaacl.Entry) { e.ResourceName = "" }, "resourceName: must not be empty"},
		{func(e *kafkaacl.Entry) { e.PatternType = "MATCH" }, `patternType "MATCH": must be one of LITERAL, PREFIXED`},
		{func(e *kafkaacl.Entry) { e.Operation = "SEE" }, `operation "SEE": must be one of`},
		{func(e *kafkaacl.Entry) { e.Permission = "MAYBE" }, `permission "MAYBE": must be one of ALLOW, DENY`},
		{func(e *kafkaacl.Entry) { e.Host = "" }, `host: must not be empty`},
	} {
		e := ok
		tc.mod(&e)
		err := e.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want it to contain %q", e, err, tc.want)
		}
		// Nothing is sent for a bad entry: a nil client would panic.
		if err := kafkaacl.Create(context.Background(), nil, e); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Create(%+v): err = %v, want the validation error", e, err)
		}
	}
}
