// Package golden compares what a test produced with files committed under
// testdata, and rewrites those files instead when the test binary runs
// with -update (go test -update), so that a change of output shows as a
// reviewable diff. A test package that imports it must not define its own
// -update flag.
package golden

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files the tests compare with")

// Suffix ends the name of every file Dir keeps, so that a golden Go file
// is not compiled as part of the package and no tool takes a golden file
// for the real thing.
const Suffix = ".golden"

// File compares got with the file at path, or with -update writes got
// there (creating its directory).
func File(t testing.TB, path string, got []byte) {
	t.Helper()
	if err := file(path, got, *update); err != nil {
		t.Error(err)
	}
}

// Dir compares files (by slash-separated path relative to dir) with the
// files under dir, each named with Suffix: the same set of files, each
// with the same content. With -update it replaces dir with files.
func Dir(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	if err := directory(dir, files, *update); err != nil {
		t.Error(err)
	}
}

func file(path string, got []byte, update bool) error {
	if update {
		return write(path, got)
	}
	want, err := os.ReadFile(path) //nolint:gosec // G304: a test names its own golden files
	if err != nil {
		return fmt.Errorf("read golden file (create it with go test -update): %w", err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s differs (refresh with go test -update if intended):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
	return nil
}

func write(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("write golden file: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write golden file: %w", err)
	}
	return nil
}

func directory(dir string, files map[string][]byte, update bool) error {
	if update {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove golden files: %w", err)
		}
		for name, data := range files {
			if err := write(filepath.Join(dir, filepath.FromSlash(name)+Suffix), data); err != nil {
				return err
			}
		}
		return nil
	}
	var have []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		have = append(have, strings.TrimSuffix(filepath.ToSlash(rel), Suffix))
		return err
	})
	if err != nil {
		return fmt.Errorf("read golden files (create them with go test -update): %w", err)
	}
	var names []string
	var errs []error
	for name, data := range files {
		names = append(names, name)
		want, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)+Suffix)) //nolint:gosec // G304: a test names its own golden files
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: no golden file (run go test -update): %w", name, err))
		case !bytes.Equal(data, want):
			errs = append(errs, fmt.Errorf("%s differs from its golden file (run go test -update and review the diff)", name))
		}
	}
	slices.Sort(names)
	slices.Sort(have)
	if !slices.Equal(names, have) {
		errs = append(errs, fmt.Errorf("files %q, golden files %q", names, have))
	}
	return errors.Join(errs...)
}
