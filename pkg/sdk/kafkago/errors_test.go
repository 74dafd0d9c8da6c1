package kafkago_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/kafkago"
)

func TestFirstErrorLooksIntoWriteErrors(t *testing.T) {
	werrs := kafka.WriteErrors{nil, kafka.UnknownTopicOrPartition, kafka.MessageSizeTooLarge}
	if got := kafkago.FirstError(fmt.Errorf("write: %w", werrs)); !errors.Is(got, kafka.UnknownTopicOrPartition) {
		t.Errorf("FirstError(wrapped write errors) = %v, want the first message's error", got)
	}
	other := errors.New("dial: refused")
	if got := kafkago.FirstError(other); !errors.Is(got, other) {
		t.Errorf("FirstError(%v) = %v, want the error itself", other, got)
	}
	if got := kafkago.FirstError(kafka.WriteErrors{nil, nil}); got == nil {
		t.Error("FirstError of write errors with no message error lost the error")
	}
}
