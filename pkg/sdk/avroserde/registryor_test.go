package avroserde_test

import (
	"io"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/avroserde"
)

// TestRegistryOr: a service's own registry wins; without one it gets a
// client of the URL it is configured with, typed as what it needs.
func TestRegistryOr(t *testing.T) {
	var given avroserde.Registrar = &avroserde.RegistryClient{}
	if r, err := avroserde.RegistryOr(given, "http://registry:8081"); err != nil || r != given {
		t.Fatalf("with a registry: %v, %v", r, err)
	}
	r, err := avroserde.RegistryOr[avroserde.Registrar](nil, "http://registry:8081")
	if _, ok := r.(*avroserde.RegistryClient); err != nil || !ok {
		t.Fatalf("without one: %T, %v", r, err)
	}
	if _, err := avroserde.RegistryOr[avroserde.Registrar](nil, "http://bad host:1/"); err == nil {
		t.Fatal("a bad URL gave a client")
	}
	if _, err := avroserde.RegistryOr[io.Reader](nil, "http://registry:8081"); err == nil {
		t.Fatal("a client was handed out as an interface it does not implement")
	}
}
