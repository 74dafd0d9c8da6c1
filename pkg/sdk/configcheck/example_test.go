package configcheck_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/samnav/samnav/pkg/sdk/configcheck"
)

// settings is a configuration with the three kinds of rule.
type settings struct {
	Retries int
	Linger  time.Duration
	Workers int
}

func (s settings) Validate() error {
	return errors.Join(
		configcheck.NotNegative("retries", s.Retries),
		configcheck.Positive("linger", s.Linger),
		configcheck.AtLeast("workers", s.Workers, 1),
	)
}

// A Validate joins its rules; those kept drop out, and every broken one
// names its field, the rule and the value given.
func Example() {
	fmt.Println(settings{Retries: 0, Linger: time.Millisecond, Workers: 1}.Validate())
	fmt.Println(settings{Retries: -1, Linger: 0, Workers: 0}.Validate())
	fmt.Println(configcheck.AtLeast("batch bytes", int64(-5), 1))
	fmt.Println(configcheck.NotNegative("write timeout", -time.Second))
	// Output:
	// <nil>
	// retries: must not be negative, got -1
	// linger: must be positive, got 0s
	// workers: must be at least 1, got 0
	// batch bytes: must be at least 1, got -5
	// write timeout: must not be negative, got -1s
}
