package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
)

// No token of a principal inside `samnav dev` is kept on disk: each start
// issues one in memory, revokes the earlier one, and removes the
// plain-text file earlier releases kept.
func TestExampleTokensAreNotStored(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	legacy := filepath.Join(dir, "admin.token")
	if err := os.WriteFile(legacy, []byte("snv_old_secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := &devHub{tokens: &auth.Tokens{Store: &auth.MemoryStore{}}}
	first, err := h.exampleToken(ctx, dir, "admin", auth.Grant{Role: auth.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	second, err := h.exampleToken(ctx, dir, "admin", auth.Grant{Role: auth.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(legacy); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the plain-text token file of an earlier release is still there: %v", err)
	}
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, tok := range []string{first, second} {
			if strings.Contains(string(b), tok) {
				t.Errorf("%s holds a token in plain text", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.tokens.Verify(ctx, first); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("the token of the earlier start still works: %v", err)
	}
	if p, err := h.tokens.Verify(ctx, second); err != nil || p.Subject != "example-owner" {
		t.Errorf("the new token = %v, %v", p, err)
	}
}
