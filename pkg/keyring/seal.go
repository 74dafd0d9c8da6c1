package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Seal encrypts plaintext with the keyring's current key (AES-256-GCM, a
// random 96-bit nonce) and returns that key's id and nonce||ciphertext.
// associated is authenticated but not stored: Open must be given the same
// bytes, so a caller binds a ciphertext to the row it belongs to (its id)
// and a ciphertext copied into another row does not open.
func Seal(ctx context.Context, kr Keyring, plaintext, associated []byte) (keyID string, sealed []byte, err error) {
	if kr == nil {
		return "", nil, fmt.Errorf("seal: %w", ErrNoKey)
	}
	k, err := kr.Current(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("seal: get current key: %w", err)
	}
	aead, err := gcm(k)
	if err != nil {
		return "", nil, fmt.Errorf("seal: %w", err)
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("seal: make nonce: %w", err)
	}
	return k.ID, aead.Seal(nonce, nonce, plaintext, associated), nil
}

// ErrOpen is returned (wrapped) when a ciphertext does not open: it was
// altered, belongs to other associated data, or the key is wrong.
var ErrOpen = errors.New("ciphertext does not open")

// Open decrypts what Seal returned, with the key named keyID and the same
// associated data.
func Open(ctx context.Context, kr Keyring, keyID string, sealed, associated []byte) ([]byte, error) {
	if kr == nil {
		return nil, fmt.Errorf("open: %w", ErrNoKey)
	}
	k, err := kr.Key(ctx, keyID)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	aead, err := gcm(k)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("open with key %s: %w (too short)", keyID, ErrOpen)
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], associated)
	if err != nil {
		return nil, fmt.Errorf("open with key %s: %w", keyID, ErrOpen)
	}
	return plain, nil
}

func gcm(k Key) (cipher.AEAD, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", k.ID, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", k.ID, err)
	}
	return aead, nil
}
