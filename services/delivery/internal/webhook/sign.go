package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers every delivery carries.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix marks a symmetric signing secret in its serialised form.
const SecretPrefix = "whsec_"

// Key sizes the Standard Webhooks spec allows for HMAC-SHA256 secrets.
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
	// newSecretBytes is what GenerateSecret makes: 256 bits.
	newSecretBytes = 32
)

// Secret is a symmetric signing key. Its zero value is unusable; make one
// with ParseSecret or GenerateSecret. String returns the whsec_ form the
// endpoint owner configures on the receiving side.
type Secret struct {
	key []byte
}

// ParseSecret reads a "whsec_<base64>" secret (the prefix is optional, as
// the reference libraries accept it bare) of 24 to 64 bytes.
func ParseSecret(s string) (Secret, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil {
		return Secret{}, invalidf("secret", "base64", "the secret must be %s followed by standard base64", SecretPrefix)
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return Secret{}, invalidf("secret", "size", "the secret must decode to %d..%d bytes, not %d", MinSecretBytes, MaxSecretBytes, len(key))
	}
	return Secret{key: key}, nil
}

// GenerateSecret returns a fresh random 32-byte secret.
func GenerateSecret() (Secret, error) {
	key := make([]byte, newSecretBytes)
	if _, err := rand.Read(key); err != nil {
		return Secret{}, fmt.Errorf("generate secret: %w", err)
	}
	return Secret{key: key}, nil
}

// String returns the secret as "whsec_<base64>".
func (s Secret) String() string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(s.key)
}

// IsZero reports whether s holds no key.
func (s Secret) IsZero() bool { return len(s.key) == 0 }

// Sign returns the "v1,<base64 HMAC-SHA256>" signature of
// "<id>.<unix seconds>.<body>" under s. id must not contain '.'; event ids
// are minted by the hub, never by a caller, as the spec requires.
func (s Secret) Sign(id string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, ts.Unix(), 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SignatureHeader returns the webhook-signature value for a message: one
// v1 signature per secret, space separated, in the order given. During a
// rotation both the new and the old secret sign, so a receiver holding
// either verifies the message.
func SignatureHeader(secrets []Secret, id string, ts time.Time, body []byte) string {
	var b strings.Builder
	for i, s := range secrets {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s.Sign(id, ts, body))
	}
	return b.String()
}
