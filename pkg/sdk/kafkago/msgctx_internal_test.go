package kafkago

import (
	"context"
	"errors"
	"testing"
	"time"
)

type ctxKey string

func TestMessageContext(t *testing.T) {
	parent, cancelParent := context.WithDeadline(context.WithValue(context.Background(), ctxKey("k"), "v"), time.Now().Add(time.Hour))
	defer cancelParent()
	info := RecordInfo{Topic: "t", Partition: 2, Offset: 7}

	t.Run("values, deadline, not done", func(t *testing.T) {
		mc := newMessageContext(parent, info)
		if got, ok := RecordInfoFromContext(mc); !ok || got.Topic != "t" || got.Partition != 2 || got.Offset != 7 {
			t.Errorf("RecordInfoFromContext = %+v, %v; want the record's info", got, ok)
		}
		if got := mc.Value(ctxKey("k")); got != "v" {
			t.Errorf("Value(parent key) = %v, want v", got)
		}
		pd, _ := parent.Deadline()
		if d, ok := mc.Deadline(); !ok || !d.Equal(pd) {
			t.Errorf("Deadline = %v, %v; want the parent's %v", d, ok, pd)
		}
		if err := mc.Err(); err != nil {
			t.Errorf("Err before end = %v, want nil", err)
		}
		select {
		case <-mc.Done():
			t.Error("Done closed before end")
		default:
		}
	})

	t.Run("end closes Done, asked before or after", func(t *testing.T) {
		before := newMessageContext(parent, info)
		done := before.Done()
		before.end(context.Canceled)
		after := newMessageContext(parent, info)
		after.end(context.DeadlineExceeded)
		after.end(context.Canceled) // later calls do nothing
		for name, c := range map[string]struct {
			done <-chan struct{}
			mc   *messageContext
			want error
		}{"before": {done, before, context.Canceled}, "after": {after.Done(), after, context.DeadlineExceeded}} {
			select {
			case <-c.done:
			default:
				t.Errorf("%s: Done not closed after end", name)
			}
			if err := c.mc.Err(); !errors.Is(err, c.want) {
				t.Errorf("%s: Err = %v, want %v", name, err, c.want)
			}
		}
	})

	t.Run("derived contexts end with it", func(t *testing.T) {
		mc := newMessageContext(parent, info)
		child, cancel := context.WithTimeout(mc, time.Hour)
		defer cancel()
		ran := make(chan struct{})
		context.AfterFunc(mc, func() { close(ran) })
		stopped := make(chan struct{})
		stop := context.AfterFunc(mc, func() { close(stopped) })
		if !stop() {
			t.Error("stop before end = false, want true")
		}
		mc.end(context.Canceled)
		select {
		case <-child.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("child context not done after end")
		}
		if got := context.Cause(child); !errors.Is(got, context.Canceled) {
			t.Errorf("Cause(child) = %v, want Canceled", got)
		}
		select {
		case <-ran:
		case <-time.After(5 * time.Second):
			t.Fatal("AfterFunc did not run after end")
		}
		select {
		case <-stopped:
			t.Error("stopped AfterFunc ran")
		case <-time.After(10 * time.Millisecond):
		}
		late := make(chan struct{})
		if context.AfterFunc(mc, func() { close(late) })() {
			t.Error("stop after end = true, want false")
		}
		select {
		case <-late:
		case <-time.After(5 * time.Second):
			t.Fatal("AfterFunc on an ended context did not run")
		}
	})
}
