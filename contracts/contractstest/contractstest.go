// Package contractstest gives tests the committed contracts without the
// error handling each test would otherwise repeat: every function fails
// the test (t.Fatal) when what it loads does not load, so a broken model
// or catalogue stops the test at the line that needed it.
package contractstest

import (
	"testing"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/contracts/systems"
)

// Model returns the embedded concept model (contracts.Model).
func Model(tb testing.TB) *model.Model {
	tb.Helper()
	m, err := contracts.Model()
	if err != nil {
		tb.Fatalf("load the concept model: %v", err)
	}
	return m
}

// Contracts returns the embedded contracts, one per concept and major
// version (contracts.Contracts).
func Contracts(tb testing.TB) []contracts.Contract {
	tb.Helper()
	cs, err := contracts.Contracts()
	if err != nil {
		tb.Fatalf("load the contracts: %v", err)
	}
	return cs
}

// Systems returns the embedded catalogue of systems (systems.Load).
func Systems(tb testing.TB) *systems.Catalogue {
	tb.Helper()
	c, err := systems.Load()
	if err != nil {
		tb.Fatalf("load the systems catalogue: %v", err)
	}
	return c
}

// LoadDir loads the concept model in dir (model.LoadDir), for the tests
// of the model and the generator that read a model other than the
// embedded one, or the model files themselves.
func LoadDir(tb testing.TB, dir string) *model.Model {
	tb.Helper()
	m, err := model.LoadDir(dir)
	if err != nil {
		tb.Fatalf("load the concept model in %s: %v", dir, err)
	}
	return m
}
