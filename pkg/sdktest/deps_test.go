// Package sdktest holds the tests of the SDK module (../sdk) that need what
// the SDK must not depend on: the embedded broker, PostgreSQL, SQL drivers,
// and the go tool itself. It has no non-test code.
package sdktest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// forbiddenModules may not appear in the SDK module's build list (go list
// -m all, which with pruned module graphs includes the go.mod requirements
// of every module the SDK requires, test-only ones too): a business system
// importing the SDK would inherit them.
var forbiddenModules = []string{
	"github.com/twmb/franz-go",           // kfake, the embedded broker
	"github.com/jackc/pgx",               // PostgreSQL driver
	"github.com/lib/pq",                  // PostgreSQL driver
	"modernc.org/sqlite",                 // SQLite driver
	"github.com/mattn/go-sqlite3",        // SQLite driver
	"go.opentelemetry.io/otel/exporters", // OTLP and Prometheus exporters
	"go.opentelemetry.io/proto/otlp",
	"google.golang.org/grpc",
	"github.com/grpc-ecosystem",
}

// forbiddenPackages may not be compiled into the SDK's packages or their
// tests. Watermill's go.mod requires the Prometheus client (for its
// components/metrics package, which the SDK does not import), so that
// module is in the build list; no package of it may be linked.
var forbiddenPackages = append([]string{"github.com/prometheus/"}, forbiddenModules...)

func goTool(t *testing.T, args ...string) string {
	t.Helper()
	// go test puts its own GOROOT/bin first on PATH, so this is the go
	// command running the test.
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = filepath.Join("..", "sdk")
	// The SDK module alone, as an importer sees it, not the repository's
	// workspace (whose build list is every module's).
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// offending returns the lines of list that start with a forbidden prefix.
func offending(list string, forbidden []string) []string {
	var bad []string
	for line := range strings.Lines(list) {
		line = strings.TrimSpace(line)
		for _, f := range forbidden {
			if strings.HasPrefix(line, f) {
				bad = append(bad, line)
			}
		}
	}
	return bad
}

func TestSDKModuleListsNoHeavyDependency(t *testing.T) {
	mods := goTool(t, "list", "-m", "all")
	if !strings.HasPrefix(mods, "github.com/samnav/samnav/pkg/sdk\n") {
		t.Fatalf("go list -m all did not run in the SDK module:\n%s", mods)
	}
	if bad := offending(mods, forbiddenModules); len(bad) > 0 {
		t.Errorf("the SDK module's build list holds %d forbidden modules: %s", len(bad), strings.Join(bad, ", "))
	}
}

func TestSDKPackagesCompileNoHeavyDependency(t *testing.T) {
	pkgs := goTool(t, "list", "-deps", "-test", "./...")
	if bad := offending(pkgs, forbiddenPackages); len(bad) > 0 {
		t.Errorf("the SDK's packages compile %d forbidden packages: %s", len(bad), strings.Join(bad, ", "))
	}
}

// TestSDKBuildsAlone compiles every SDK package and test, the README's
// example (subscriber/example_test.go) among them, with the SDK module alone:
// its go.mod and go.sum must be complete without the workspace.
func TestSDKBuildsAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the SDK module outside the workspace")
	}
	goTool(t, "vet", "./...")
}

func TestOffending(t *testing.T) {
	list := "github.com/samnav/samnav/pkg/sdk\ngithub.com/segmentio/kafka-go v0.4.51\ngoogle.golang.org/grpc v1.83.2\n"
	got := fmt.Sprint(offending(list, forbiddenModules))
	if got != "[google.golang.org/grpc v1.83.2]" {
		t.Errorf("offending = %s", got)
	}
}
