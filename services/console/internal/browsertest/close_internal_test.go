package browsertest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCloseEndsEveryProcessAndRemovesTheProfile guards the machine the
// tests share: a browser that outlived its tests would hold memory and CPU
// for the rest of the run.
func TestCloseEndsEveryProcessAndRemovesTheProfile(t *testing.T) {
	requireChromium(t)
	b, err := Launch(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chromium started in %s", b.StartupTime().Round(time.Millisecond))
	dir := b.dir
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("profile dir: %v", err)
	}
	n := len(processesUsing(dir))
	if n == 0 {
		t.Fatal("found no process running with the profile dir; the check below would prove nothing")
	}
	t.Logf("chromium runs as %d processes", n)

	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("profile dir %s still there after Close (stat: %v)", dir, err)
	}
	if left := processesUsing(dir); len(left) > 0 {
		t.Errorf("processes still running after Close: %q", left)
	}
}

// processesUsing returns the command lines of the processes whose
// arguments mention dir.
func processesUsing(dir string) []string {
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var found []string
	for _, f := range cmdlines {
		data, err := os.ReadFile(f)
		if err != nil || !bytes.Contains(data, []byte(dir)) {
			continue
		}
		found = append(found, string(bytes.ReplaceAll(data, []byte{0}, []byte{' '})))
	}
	return found
}
