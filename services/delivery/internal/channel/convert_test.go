package channel_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/samnav/samnav/services/delivery/internal/channel"
)

func TestConvertBatchIsAllOrNone(t *testing.T) {
	keyOf := func(ev channel.Event) (string, error) {
		if ev.Key == "" {
			return "", errors.New("no key")
		}
		return ev.Key, nil
	}
	got, err := channel.ConvertBatch([]channel.Event{{EventID: "e1", Key: "a"}, {EventID: "e2", Key: "b"}}, keyOf)
	if err != nil || strings.Join(got, ",") != "a,b" {
		t.Errorf("ConvertBatch of good events = %v, %v; want a,b in order", got, err)
	}
	got, err = channel.ConvertBatch([]channel.Event{{EventID: "e1"}, {EventID: "e2", Key: "b"}, {EventID: "e3"}}, keyOf)
	if got != nil || err == nil {
		t.Fatalf("ConvertBatch with bad events = %v, %v; want nothing and an error", got, err)
	}
	for _, want := range []string{"event 0 (e1): no key", "event 2 (e3): no key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "e2") {
		t.Errorf("error %q names the good event e2", err)
	}
}
