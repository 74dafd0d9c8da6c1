package browsertest

import (
	"os"
	"path/filepath"
	"regexp"
)

// EnvScreenshots names the variable that turns documentation screenshots
// on: the directory to write them to. A relative directory is taken from
// the repository root (where go.work is), so
//
//	SAMNAV_SCREENSHOTS=docs/screenshots go test ./services/console/...
//
// refreshes docs/screenshots/ whichever package's tests take them.
const EnvScreenshots = "SAMNAV_SCREENSHOTS"

var screenshotName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// ScreenshotDir returns the directory documentation screenshots go to, or
// "" when EnvScreenshots is unset and they are not wanted.
func ScreenshotDir() string {
	dir := os.Getenv(EnvScreenshots)
	if dir == "" || filepath.IsAbs(dir) {
		return dir
	}
	return filepath.Join(repoRoot(), dir)
}

// repoRoot is the nearest directory above the working directory that holds
// go.work, or the working directory.
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := wd; ; {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return wd
		}
		d = parent
	}
}

// DocScreenshot writes a full-page PNG of the page to <dir>/<name>.png when
// EnvScreenshots names a dir, and does nothing otherwise, so an end-to-end
// test can take the README's pictures on the way (name: lower-case letters,
// digits and dashes, such as "person-history"). It returns the file written,
// or "".
func (p *Page) DocScreenshot(name string) string {
	p.t.Helper()
	if !screenshotName.MatchString(name) {
		p.t.Fatalf("screenshot name %q: use lower-case letters, digits and dashes", name)
	}
	dir := ScreenshotDir()
	if dir == "" {
		return ""
	}
	path := filepath.Join(dir, name+".png")
	p.Screenshot(path)
	p.t.Logf("screenshot %s", path)
	return path
}
