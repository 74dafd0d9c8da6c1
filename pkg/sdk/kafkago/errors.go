package kafkago

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
)

// ErrClosed is returned by Publish and Subscribe after Close.
var ErrClosed = errors.New("kafkago: closed")

// Retryable reports whether err is worth retrying: a Kafka error the protocol
// marks retriable (kafka.Error.Temporary), a timeout, or a broken, refused or
// reset connection (a broker restarting). Everything else (message too large,
// authorization, invalid request, ...) is permanent: retrying would only
// repeat it.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		return kerr.Temporary() || kerr.Timeout()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
		return true
	}
	var nerr net.Error
	if errors.As(err, &nerr) {
		return true // dial failures, i/o timeouts: the network, not the request
	}
	var temp interface{ Temporary() bool }
	if errors.As(err, &temp) {
		return temp.Temporary()
	}
	return false
}

// backoff is capped exponential backoff with full jitter: attempt 1 waits up
// to min, each further attempt doubles, never beyond max.
func backoff(attempt int, minD, maxD time.Duration) time.Duration {
	d := minD
	for i := 1; i < attempt && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	if d <= 0 {
		return 0
	}
	// Half fixed, half random: spreads retries of many publishers after a
	// broker restart without ever retrying immediately.
	return d/2 + rand.N(d/2+1) //nolint:gosec // G404: jitter for retry backoff, not security
}

// sleep waits d or until done is closed; it reports whether it slept fully.
func sleep(d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
