package auth_test

import (
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/auth/authtest"
)

func TestMemoryStore(t *testing.T) {
	authtest.Run(t, func(*testing.T) *auth.MemoryStore { return &auth.MemoryStore{} })
}
