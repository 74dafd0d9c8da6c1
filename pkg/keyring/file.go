package keyring

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
)

// A key file holds one key a line, "<id> <standard base64 of 32 bytes>";
// blank lines and lines starting with '#' are ignored. The last key is
// the current one: rotating means appending a new line and restarting,
// and keeping the old lines for as long as data sealed under them lives.
// The file must be readable by its owner only (mode 0600 or stricter).

const fileHeader = "# Samnav key file: one key a line, \"<id> <base64 key>\"; the last is the current key.\n" +
	"# Keep it apart from the databases and their backups; whoever holds it can read the secrets they hold.\n"

// LoadFile reads the key file at path into a keyring. It refuses a file
// that group or others may read or write, and names the path, the line and
// the rule of any problem. No key's bytes appear in an error.
func LoadFile(path string) (*Memory, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load key file: %w", err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("load key file %s: mode %04o: must not be readable or writable by group or others (chmod 600)", path, info.Mode().Perm())
	}
	b, err := os.ReadFile(path) //nolint:gosec // G304: the key file the operator configured
	if err != nil {
		return nil, fmt.Errorf("load key file: %w", err)
	}
	keys, err := parseFile(b)
	if err != nil {
		return nil, fmt.Errorf("load key file %s: %w", path, err)
	}
	m, err := NewMemory(keys...)
	if err != nil {
		return nil, fmt.Errorf("load key file %s: %w", path, err)
	}
	return m, nil
}

func parseFile(b []byte) ([]Key, error) {
	var keys []Key
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, enc, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("line %d: must be \"<id> <base64 key>\"", n)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
		if err != nil {
			return nil, fmt.Errorf("line %d: key %s: must be standard base64", n, id)
		}
		k := Key{ID: id, Bytes: raw}
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(keys) == 0 {
		return nil, errors.New("holds no key")
	}
	return keys, nil
}

// CreateFile writes a new key file at path holding one random key, with
// mode 0600, and returns its keyring. It never overwrites: an existing
// file is an error wrapping fs.ErrExist, since replacing a key makes
// everything sealed with it unreadable.
func CreateFile(path string) (*Memory, error) {
	k, err := NewKey()
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) //nolint:gosec // G304: the key file the operator configured
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	_, werr := fmt.Fprintf(f, "%s%s %s\n", fileHeader, k.ID, base64.StdEncoding.EncodeToString(k.Bytes))
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("create key file %s: %w", path, werr)
	}
	return NewMemory(k)
}

// LoadOrCreateFile loads the key file at path, creating it with one random
// key first if there is none: what `samnav dev` does in its data
// directory.
func LoadOrCreateFile(path string) (*Memory, error) {
	m, err := CreateFile(path)
	if errors.Is(err, fs.ErrExist) {
		return LoadFile(path)
	}
	return m, err
}
