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
	return load(tb, "the concept model", contracts.Model)
}

// Contracts returns the embedded contracts, one per concept and major
// version (contracts.Contracts).
func Contracts(tb testing.TB) []contracts.Contract {
	tb.Helper()
	return load(tb, "the contracts", contracts.Contracts)
}

// Systems returns the embedded catalogue of systems (systems.Load).
func Systems(tb testing.TB) *systems.Catalogue {
	tb.Helper()
	return load(tb, "the systems catalogue", systems.Load)
}

// LoadDir loads the concept model in dir (model.LoadDir), for the tests
// of the model and the generator that read a model other than the
// embedded one, or the model files themselves.
func LoadDir(tb testing.TB, dir string) *model.Model {
	tb.Helper()
	return load(tb, "the concept model in "+dir, func() (*model.Model, error) { return model.LoadDir(dir) })
}

// load returns what f loads, or fails tb naming what did not load.
func load[T any](tb testing.TB, what string, f func() (T, error)) T {
	tb.Helper()
	v, err := f()
	if err != nil {
		tb.Fatalf("load %s: %v", what, err)
	}
	return v
}
