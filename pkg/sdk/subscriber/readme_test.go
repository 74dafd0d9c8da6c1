package subscriber_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeShowsTheExample keeps the SDK's README honest: its Go example
// is example_test.go, character for character, and example_test.go is
// compiled with the SDK module alone by every go test and go vet, so the
// README's example builds.
func TestReadmeShowsTheExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```go\n")
	if !ok {
		t.Fatal("README.md has no ```go block")
	}
	block, _, ok = strings.Cut(block, "```\n")
	if !ok {
		t.Fatal("README.md's ```go block is not closed")
	}
	if block != string(example) {
		t.Errorf("README.md's Go example differs from subscriber/example_test.go; paste the file into the README's first ```go block")
	}
}
