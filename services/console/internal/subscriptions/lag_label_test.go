package subscriptions

import (
	"testing"

	delivery "github.com/samnav/samnav/services/delivery/client"

	"github.com/samnav/samnav/services/console/internal/i18n"
	"github.com/samnav/samnav/services/console/internal/site"
)

// TestSubLagLabel: the list's lag column says a subscription whose
// delivery is stopped (a refused rebuild, retried) is stopped, whatever
// the last committed position says, in both languages.
func TestSubLagLabel(t *testing.T) {
	for _, tc := range []struct {
		lang i18n.Lang
		lag  delivery.Lag
		want string
	}{
		{i18n.SV, delivery.Lag{Channels: []delivery.ChannelLag{{LagReport: delivery.LagReport{Events: 0}}}}, "i kapp"},
		{i18n.EN, delivery.Lag{Channels: []delivery.ChannelLag{{LagReport: delivery.LagReport{Events: 3}}}}, "3 events"},
		{i18n.SV, delivery.Lag{Channels: []delivery.ChannelLag{{LagReport: delivery.LagReport{Events: 0}}}, Failing: "register view schema: refused"}, "stoppad, försöker igen"},
		{i18n.EN, delivery.Lag{Channels: []delivery.ChannelLag{{LagReport: delivery.LagReport{Events: 2}}}, Failing: "refused"}, "stopped, retrying"},
	} {
		if got := subLagLabel(&site.Request{Lang: tc.lang}, &tc.lag); got != tc.want {
			t.Errorf("%s %+v: %q, want %q", tc.lang, tc.lag, got, tc.want)
		}
	}
}
