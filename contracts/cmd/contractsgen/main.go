// Command contractsgen generates Samnav's contracts from the concept model:
// it reads model/*.yaml under the contracts directory and writes avro/,
// concepts/, asyncapi.yaml and docs/ there. `go generate` in the contracts
// module runs it.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/samnav/samnav/contracts/generator"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		slog.Error("contractsgen failed", "err", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("contractsgen", flag.ContinueOnError)
	dir := fs.String("dir", ".", "the contracts directory (holding model/)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	files, err := generator.GenerateDir(filepath.Join(*dir, "model"))
	if err != nil {
		return err
	}
	if err := generator.Write(*dir, files); err != nil {
		return fmt.Errorf("write contracts: %w", err)
	}
	return nil
}
