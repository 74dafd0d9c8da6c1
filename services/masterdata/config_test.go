package masterdata_test

import (
	"strings"
	"testing"

	"github.com/samnav/samnav/services/masterdata"
)

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		cfg  masterdata.Config
		want []string
	}{
		{"sqlite with a data dir", masterdata.Config{DataDir: "/tmp/x"}, nil},
		{"postgres", masterdata.Config{Driver: "postgres", DSN: "postgres://x"}, nil},
		{"everything wrong", masterdata.Config{Driver: "mysql", Addr: "nope", Brokers: []string{"b"}, TopicPartitions: -1},
			[]string{"Driver:", "Addr:", "Brokers[0]:", "TopicPartitions:"}},
		{"sqlite without a place", masterdata.Config{}, []string{"DSN or DataDir"}},
		{"postgres without DSN", masterdata.Config{Driver: "postgres"}, []string{"DSN: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate = nil")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not report %q", err, w)
				}
			}
		})
	}
}
