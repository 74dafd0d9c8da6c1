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

// TestLaunchRetriesAFailedStart: a Chromium that exits at once on its first
// start (as it did once in CI) is started again.
func TestLaunchRetriesAFailedStart(t *testing.T) {
	requireChromium(t)
	chromium, err := FindChromium()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	marker := filepath.Join(dir, "failed-once")
	script := filepath.Join(dir, "chromium")
	body := "#!/bin/sh\nif [ ! -e '" + marker + "' ]; then : > '" + marker + "'; exit 1; fi\nexec '" + chromium + "' \"$@\"\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := Launch(Options{ExecPath: script})
	if err != nil {
		t.Fatalf("Launch after one failed start: %v", err)
	}
	defer b.Close()
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the first start did not fail as arranged: %v", err)
	}
}
