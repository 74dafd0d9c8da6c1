package site

import (
	"fmt"
	"html/template"
	"strings"
	"time"
	_ "time/tzdata" // the city's zone must work on a machine without zoneinfo
)

// cityZone is the city's time zone. Every page shows times in it, with the
// zone's abbreviation (CET or CEST), so that pages agree with each other
// and with the clock on the wall.
var cityZone = func() *time.Location {
	l, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		panic(fmt.Sprintf("console: Europe/Stockholm: %v", err)) // embedded by time/tzdata
	}
	return l
}()

var _ = TemplateFuncs(template.FuncMap{"timeTag": timeTag})

// FormatTime writes t as people in the city read it, e.g.
// "2026-11-27 11:21:19 CET"; "–" for the zero time.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.In(cityZone).Format("2006-01-02 15:04:05 MST")
}

// timeTag is t as a <time> element: formatTime for people, RFC 3339 in
// datetime for machines; "–" for the zero time.
func timeTag(t time.Time) template.HTML {
	if t.IsZero() {
		return "–"
	}
	return template.HTML(`<time datetime="` + t.In(cityZone).Format(time.RFC3339) + `">` + template.HTMLEscapeString(FormatTime(t)) + `</time>`) //nolint:gosec // both parts are formatted times
}

// TH is T for a message whose arguments hold HTML (such as timeTag's):
// the message and its plain arguments are escaped, template.HTML arguments
// are kept as they are.
func (v *View) TH(key string, args ...any) template.HTML {
	var html []string
	plain := make([]any, len(args))
	for i, a := range args {
		if h, ok := a.(template.HTML); ok {
			plain[i] = fmt.Sprintf("\ue000%d\ue001", len(html))
			html = append(html, string(h))
			continue
		}
		plain[i] = a
	}
	s := template.HTMLEscapeString(v.T(key, plain...))
	for i, h := range html {
		s = strings.Replace(s, fmt.Sprintf("\ue000%d\ue001", i), h, 1)
	}
	return template.HTML(s) //nolint:gosec // escaped above but for the HTML arguments
}
