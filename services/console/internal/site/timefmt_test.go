package site

import (
	"html/template"
	"testing"
	"time"

	"github.com/samnav/samnav/services/console/internal/i18n"
)

// TestTimesAreShownInStockholmWithTheZone: one format everywhere, the
// city's zone (winter and summer) named, RFC 3339 for machines; it needs no
// zoneinfo on the machine (time/tzdata is embedded).
func TestTimesAreShownInStockholmWithTheZone(t *testing.T) {
	for _, tc := range []struct {
		at        time.Time
		text, tag string
	}{
		{time.Date(2026, 11, 27, 10, 21, 19, 0, time.UTC), "2026-11-27 11:21:19 CET",
			`<time datetime="2026-11-27T11:21:19+01:00">2026-11-27 11:21:19 CET</time>`},
		{time.Date(2026, 6, 1, 22, 30, 0, 0, time.UTC), "2026-06-02 00:30:00 CEST",
			`<time datetime="2026-06-02T00:30:00+02:00">2026-06-02 00:30:00 CEST</time>`},
		{time.Time{}, "–", "–"},
	} {
		if got := FormatTime(tc.at); got != tc.text {
			t.Errorf("FormatTime(%v) = %q, want %q", tc.at, got, tc.text)
		}
		if got := timeTag(tc.at); got != template.HTML(tc.tag) {
			t.Errorf("timeTag(%v) = %q, want %q", tc.at, got, tc.tag)
		}
	}
}

// The message TestTHEscapesAllButHTMLArguments renders: the records
// area's "records.ended.at", which the site's own tests do not register.
var _ = Messages(map[string]i18n.Message{
	"test.ended.at": {SV: "Posten avslutades %s. Skäl: %s", EN: "The record was ended %s. Reason: %s"},
})

func TestTHEscapesAllButHTMLArguments(t *testing.T) {
	v := &View{Lang: i18n.EN}
	got := v.TH("test.ended.at", timeTag(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)), "<b>closed</b> & gone")
	want := `The record was ended <time datetime="2026-11-27T11:00:00+01:00">2026-11-27 11:00:00 CET</time>. Reason: &lt;b&gt;closed&lt;/b&gt; &amp; gone`
	if string(got) != want {
		t.Fatalf("TH:\n got %s\nwant %s", got, want)
	}
}
