package keyring_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/keyring"
)

func TestSealOpens(t *testing.T) {
	ctx := context.Background()
	old, _ := keyring.NewKey()
	cur, _ := keyring.NewKey()
	kr, err := keyring.NewMemory(old, cur)
	if err != nil {
		t.Fatal(err)
	}
	id, sealed, err := keyring.Seal(ctx, kr, []byte("the secret"), []byte("row 1"))
	if err != nil {
		t.Fatal(err)
	}
	if id != cur.ID {
		t.Errorf("sealed with %s, want the current key %s", id, cur.ID)
	}
	if bytes.Contains(sealed, []byte("the secret")) {
		t.Error("the sealed bytes hold the plaintext")
	}
	got, err := keyring.Open(ctx, kr, id, sealed, []byte("row 1"))
	if err != nil || string(got) != "the secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// Another row's associated data, an altered byte, an unknown key.
	if _, err := keyring.Open(ctx, kr, id, sealed, []byte("row 2")); !errors.Is(err, keyring.ErrOpen) {
		t.Errorf("opened with another row's associated data: %v", err)
	}
	bad := bytes.Clone(sealed)
	bad[len(bad)-1] ^= 1
	if _, err := keyring.Open(ctx, kr, id, bad, []byte("row 1")); !errors.Is(err, keyring.ErrOpen) {
		t.Errorf("opened an altered ciphertext: %v", err)
	}
	if _, err := keyring.Open(ctx, kr, "nope", sealed, []byte("row 1")); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Errorf("Open with an unknown key = %v, want ErrUnknownKey", err)
	}
	// Data sealed under the old key still opens after rotation.
	only, _ := keyring.NewMemory(old)
	id, sealed, _ = keyring.Seal(ctx, only, []byte("older"), nil)
	if got, err := keyring.Open(ctx, kr, id, sealed, nil); err != nil || string(got) != "older" {
		t.Errorf("Open under the old key = %q, %v", got, err)
	}
	if _, _, err := keyring.Seal(ctx, nil, []byte("x"), nil); !errors.Is(err, keyring.ErrNoKey) {
		t.Errorf("Seal without a keyring = %v, want ErrNoKey", err)
	}
}

func TestCreateFileIsOwnerOnlyAndNeverOverwrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "samnav.key")
	made, err := keyring.LoadOrCreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", info.Mode().Perm())
	}
	if _, err := keyring.CreateFile(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateFile over an existing file = %v, want ErrExist", err)
	}
	loaded, err := keyring.LoadOrCreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := made.Current(ctx)
	b, _ := loaded.Current(ctx)
	if a.ID != b.ID || !bytes.Equal(a.Bytes, b.Bytes) {
		t.Error("loading the file gave another key than the one created")
	}
	if strings.Contains(a.String(), base64.StdEncoding.EncodeToString(a.Bytes)) {
		t.Error("Key.String shows the key")
	}
}

func TestLoadFileRefuses(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	tests := []struct {
		name, text string
		mode       os.FileMode
		want       string
	}{
		{"readable by others", "k1 " + key + "\n", 0o644, "must not be readable"},
		{"empty", "# nothing\n", 0o600, "holds no key"},
		{"no id", key + "\n", 0o600, "line 1: must be"},
		{"short key", "k1 " + base64.StdEncoding.EncodeToString(make([]byte, 16)) + "\n", 0o600, "must be 32 bytes"},
		{"not base64", "k1 !!!\n", 0o600, "base64"},
		{"bad id", "k/1 " + key + "\n", 0o600, "key id"},
		{"repeated id", "k1 " + key + "\nk1 " + key + "\n", 0o600, "unique"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k")
			if err := os.WriteFile(path, []byte(tt.text), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			_, err := keyring.LoadFile(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadFile = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), key) {
				t.Error("the error shows the key")
			}
		})
	}
	// The last key is the current one.
	path := filepath.Join(t.TempDir(), "k")
	k2 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	if err := os.WriteFile(path, []byte("k1 "+key+"\n\nk2 "+k2+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if cur, _ := kr.Current(context.Background()); cur.ID != "k2" {
		t.Errorf("current key %s, want the last, k2", cur.ID)
	}
}
