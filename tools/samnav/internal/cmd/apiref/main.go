// Command apiref writes docs/api.md, the API reference, from the OpenAPI
// documents of master data (for the embedded concept model) and delivery.
// `make generate` runs it (go:generate in tools/samnav), and
// `make check-generated` fails when the page is not current.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/services/delivery"
	"github.com/samnav/samnav/services/masterdata"
	"github.com/samnav/samnav/tools/samnav/internal/apiref"
)

func main() {
	out := flag.String("out", "docs/api.md", "the file to write")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "apiref:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	m, err := contracts.Model()
	if err != nil {
		return fmt.Errorf("load concept model: %w", err)
	}
	if err := os.WriteFile(out, apiref.Render(masterdata.OpenAPI(m), delivery.OpenAPI()), 0o644); err != nil { //nolint:gosec // a docs page, world-readable by intent
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}
