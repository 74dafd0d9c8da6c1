package console

import (
	"os"
	"testing"

	"github.com/samnav/samnav/services/console/internal/browsertest"
)

// TestMain closes the package's shared headless browser (started by the
// first browsertest.Shared) after the last test.
func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }
