package kafkago

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

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

// FirstError returns the first per-message error of a kafka.WriteErrors
// (which errors.Is does not look into), or err itself.
func FirstError(err error) error {
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) {
		for _, e := range werrs {
			if e != nil {
				return e
			}
		}
	}
	return err
}
