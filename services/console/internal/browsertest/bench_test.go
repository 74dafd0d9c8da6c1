package browsertest_test

import (
	"testing"

	"github.com/samnav/samnav/services/console/internal/browsertest"
)

// BenchmarkLaunch is the cost of a browser of one's own (Start) against
// BenchmarkNewPage, the cost of a page in the shared one (Shared).
func BenchmarkLaunch(b *testing.B) {
	browsertest.Shared(b) // skips, or fails under CI, without Chromium
	for b.Loop() {
		br, err := browsertest.Launch(browsertest.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := br.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewPage(b *testing.B) {
	br := browsertest.Shared(b)
	for b.Loop() {
		br.NewPage(b).Close()
	}
}

// BenchmarkAxe is the cost of one accessibility check of a small page:
// loading it, injecting axe-core and running the WCAG 2.1 A/AA rules.
func BenchmarkAxe(b *testing.B) {
	srv := site(b)
	p := browsertest.Shared(b).NewPage(b)
	for b.Loop() {
		p.Navigate(srv.URL + "/clean")
		if _, err := p.Axe(); err != nil {
			b.Fatal(err)
		}
	}
}
