package kafkago

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/backoff"
)

// A chunk is up to chunkSize records, or chunkBytes of keys and values
// (at least one record), of one fetch response: the fetcher unmarshals and
// hands over records a chunk at a time, and up to chunkCredits chunks of a
// partition wait at the dispatcher. That is enough to deliver while the
// fetcher reads and decodes the next response (measured: with two chunks
// each partition ran dry at the end of every response, and the consumer
// reached 0.72x raw kafka-go, against 0.94x with a response's worth), and
// bounds what a partition holds beyond the response being read: 4096
// prepared messages, about 1 MiB of record data.
const (
	chunkSize    = 256
	chunkBytes   = 64 << 10
	chunkCredits = 16
)

// fetchReadTimeout bounds reading one fetch response beyond the time the
// broker may hold the request (FetchMaxWait): a connection that stops
// delivering bytes is dropped and dialled again.
const fetchReadTimeout = 10 * time.Second

// fetcher reads one partition ahead of its dispatcher, a whole fetch
// response at a time, on its own connection to the partition's leader.
//
// It replaces a kafka-go Reader per partition: the Reader hands its consumer
// one record at a time over a channel (a goroutine wake-up per record) and
// sets a read deadline per record. The fetcher reads a response in one go
// under one deadline, and unmarshals its records into messages (with their
// contexts) a chunk at a time, handing over a chunk at a time: that work
// runs alongside the delivery of the chunks before, not between a message's
// Ack and the next message. A chunk is handed over only with a credit, and
// the dispatcher gives the credit back once it delivered the chunk.
type fetcher struct {
	s         *Subscriber
	topic     string
	partition int
	subCtx    context.Context // the parent of the messages' contexts
	part      *part           // the dispatcher's, named on every chunk
	// ready carries fetched records to the dispatcher, in offset order per
	// partition, never empty; credits bounds how many chunks are there;
	// free returns delivered responses for reuse.
	ready   chan<- *chunk
	credits chan struct{}
	free    chan []kafka.Message
	// lastLen is the largest response read so far, in records.
	lastLen int
}

// chunk is consecutive records of one fetch response and their messages.
type chunk struct {
	part    *part
	records []kafka.Message
	// msgs[i] is records[i] as a message; its msg is nil if the
	// Unmarshaler refused the record (the dispatcher asks again, and logs
	// why).
	msgs []prepared
	// response is set on the last chunk of a response: the whole response,
	// to recycle once the chunk is delivered.
	response []kafka.Message
}

// prepared is a message ready for its first delivery, with its context.
type prepared struct {
	msg *message.Message
	ctx *messageContext
}

func newFetcher(s *Subscriber, topic string, partition int, subCtx context.Context, ready chan<- *chunk, p *part) *fetcher {
	f := &fetcher{
		s: s, topic: topic, partition: partition, subCtx: subCtx, part: p,
		ready:   ready,
		credits: make(chan struct{}, chunkCredits),
		free:    make(chan []kafka.Message, 1),
	}
	for range chunkCredits {
		f.credits <- struct{}{}
	}
	return f
}

// handOver unmarshals batch a chunk at a time and hands the chunks over; it reports false if ctx ended first.
func (f *fetcher) handOver(ctx context.Context, batch []kafka.Message) bool {
	for lo := 0; lo < len(batch); {
		hi, size := lo, 0
		for hi < len(batch) && hi-lo < chunkSize && (hi == lo || size < chunkBytes) {
			size += len(batch[hi].Key) + len(batch[hi].Value)
			hi++
		}
		c := &chunk{part: f.part, records: batch[lo:hi], msgs: make([]prepared, hi-lo)}
		for i := range c.records {
			c.msgs[i] = f.prepare(&c.records[i])
		}
		if hi == len(batch) {
			c.response = batch
		}
		select {
		case <-f.credits:
		case <-ctx.Done():
			return false
		}
		select {
		case f.ready <- c:
		case <-ctx.Done():
			return false
		}
		lo = hi
	}
	return true
}

// release is called by the dispatcher once every record of c is delivered:
// it gives back c's credit, and its response for reuse if c is the last
// chunk of one.
func (f *fetcher) release(c *chunk) {
	if c.response != nil {
		f.recycle(c.response)
	}
	f.credits <- struct{}{} // never blocks: the credit was taken
}

// prepare turns km into a message with its context, or returns none if the
// Unmarshaler refuses it.
func (f *fetcher) prepare(km *kafka.Message) prepared {
	msg, err := f.s.unmarshal(km)
	if err != nil {
		return prepared{}
	}
	ctx := newMessageContext(f.subCtx, recordInfo(km))
	msg.SetContext(ctx)
	return prepared{msg: msg, ctx: ctx}
}

func recordInfo(km *kafka.Message) RecordInfo {
	return RecordInfo{Topic: km.Topic, Partition: km.Partition, Offset: km.Offset, Time: km.Time, Key: km.Key, Headers: km.Headers}
}

// recycle gives a delivered slice back for the next fetch. The records'
// Key, Value and Headers are not reused: messages keep them.
func (f *fetcher) recycle(batch []kafka.Message) {
	clear(batch)
	select {
	case f.free <- batch[:0]:
	default:
	}
}

// run fetches from offset (an absolute offset, or kafka.FirstOffset or
// kafka.LastOffset) until ctx ends. It never gives up on its own: a lost
// connection, a leader change or a broker error is logged and retried with
// backoff; the generation or the subscription ends it.
func (f *fetcher) run(ctx context.Context, offset int64) {
	s := f.s
	var conn *kafka.Conn
	var stopClose func() bool
	drop := func() {
		if conn != nil {
			stopClose()
			_ = conn.Close() // the connection is useless either way
			conn = nil
		}
	}
	defer drop()
	failures := 0
	for ctx.Err() == nil {
		if failures > 0 && !backoff.Sleep(ctx, backoff.Delay(failures, s.cfg.MinBackoff, s.cfg.MaxBackoff)) {
			return
		}
		if conn == nil {
			c, start, stop, err := f.dial(ctx, offset)
			if err != nil {
				if ctx.Err() == nil {
					s.logger.Info("Cannot connect to partition leader, retrying", f.fields(offset, err))
				}
				failures++
				continue
			}
			conn, offset, stopClose = c, start, stop
		}
		batch, next, err := f.read(conn, offset)
		offset = next
		if len(batch) > 0 && !f.handOver(ctx, batch) {
			return
		}
		switch {
		case ctx.Err() != nil:
			return
		case err == nil, errors.Is(err, kafka.RequestTimedOut):
			// The end of a response, or a fetch the broker held for
			// FetchMaxWait without new records.
			failures = 0
		case errors.Is(err, kafka.OffsetOutOfRange):
			// The position is outside the partition's log: records before
			// it were deleted (retention), or it is past the end (the topic
			// was deleted and recreated, or the partition truncated).
			first, last, oerr := f.offsets(conn)
			switch {
			case oerr != nil:
				s.logger.Info("Cannot read partition offsets, reconnecting", f.fields(offset, oerr))
				drop()
				failures++
			case offset < first || offset > last:
				offset, failures = f.reset(offset, first, last), 0
			default:
				// In range again by the time the offsets were read:
				// fetch again, after a pause in case the broker keeps
				// disagreeing with itself.
				failures++
			}
		default:
			// A lost connection, a new leader, or a broker error: dial the
			// leader again after backoff.
			s.logger.Info("Cannot fetch from partition, reconnecting", f.fields(offset, err))
			drop()
			failures++
		}
	}
}

// read fetches once from offset and returns the records read, in order, and
// the offset to fetch from next.
func (f *fetcher) read(conn *kafka.Conn, offset int64) ([]kafka.Message, int64, error) {
	var batch []kafka.Message
	select {
	case batch = <-f.free:
	default:
		// Sized like the last response, to grow once if at all.
		batch = make([]kafka.Message, 0, f.lastLen)
	}
	if _, err := conn.Seek(offset, kafka.SeekAbsolute|kafka.SeekDontCheck); err != nil {
		return nil, offset, fmt.Errorf("seek to offset %d: %w", offset, err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(f.s.cfg.FetchMaxWait + fetchReadTimeout)); err != nil {
		return nil, offset, fmt.Errorf("set read deadline: %w", err)
	}
	b := conn.ReadBatchWith(kafka.ReadBatchConfig{
		MinBytes: 1,
		MaxBytes: f.s.cfg.FetchMaxBytes,
		MaxWait:  f.s.cfg.FetchMaxWait,
	})
	for {
		m, err := b.ReadMessage()
		if err != nil {
			// io.EOF ends every response; Close reports anything else.
			break
		}
		batch = append(batch, m)
	}
	f.lastLen = max(f.lastLen, len(batch))
	err := b.Close()
	// The batch's offset is past every record read, and past records it
	// skipped (control records, compacted ones).
	next := b.Offset()
	if len(batch) > 0 {
		next = max(next, batch[len(batch)-1].Offset+1)
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return batch, max(next, offset), err
}

// dial connects to the partition's leader through the first broker that
// answers, and resolves offset to an absolute one: FirstOffset to the
// oldest record, LastOffset to the next, and an offset outside the log (a
// committed or in-memory position before the oldest record or past the end)
// as reset does.
// The connection is closed as soon as ctx ends, so that neither a request
// here nor a fetch the broker holds for FetchMaxWait delays the consumer's
// stop; stop undoes that.
func (f *fetcher) dial(ctx context.Context, offset int64) (_ *kafka.Conn, _ int64, stop func() bool, _ error) {
	var errs []error
	for _, broker := range f.s.cfg.Brokers {
		conn, err := f.s.cfg.Dialer.DialLeader(ctx, "tcp", broker, f.topic, f.partition)
		if err != nil {
			errs = append(errs, fmt.Errorf("broker %s: %w", broker, err))
			continue
		}
		stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
		first, last, err := f.offsets(conn)
		if err != nil {
			stop()
			_ = conn.Close() // replaced by the next attempt
			errs = append(errs, fmt.Errorf("broker %s: read offsets: %w", broker, err))
			continue
		}
		switch {
		case offset == kafka.FirstOffset:
			offset = first
		case offset == kafka.LastOffset:
			offset = last
		case offset < first || offset > last:
			offset = f.reset(offset, first, last)
		}
		return conn, offset, stop, nil
	}
	return nil, offset, nil, fmt.Errorf("dial leader of %s/%d: %w", f.topic, f.partition, errors.Join(errs...))
}

// reset returns where to continue a partition whose position offset is
// outside its log [first, last], as a Kafka consumer does with
// auto.offset.reset: first under Earliest, last under Latest. Before first,
// records were deleted (retention) before they were consumed; past last, the
// topic was deleted and recreated (or the partition truncated) and a
// position past its end would wait for records that are never fetched,
// while the new ones below it are never read. Either way records are
// skipped or read again, so it is logged with both offsets, at Error:
// Watermill's LoggerAdapter has no warning level.
func (f *fetcher) reset(offset, first, last int64) int64 {
	to, policy := first, "earliest"
	if f.s.cfg.InitialOffset == Latest {
		to, policy = last, "latest"
	}
	cause := "records before it were deleted before they were consumed"
	if offset > last {
		cause = "it is past the end of the partition (the topic was recreated or truncated)"
	}
	f.s.logger.Error("Offset out of range, resetting the partition to its "+policy+" offset",
		fmt.Errorf("offset %d is out of range [%d, %d]: %s", offset, first, last, cause), watermill.LogFields{
			"topic": f.topic, "partition": f.partition, "offset": offset, "reset_to": to,
			"log_start_offset": first, "high_watermark": last,
		})
	return to
}

// offsets returns the partition's first and next offsets.
func (f *fetcher) offsets(conn *kafka.Conn) (first, last int64, err error) {
	if err := conn.SetDeadline(time.Now().Add(fetchReadTimeout)); err != nil {
		return 0, 0, fmt.Errorf("set deadline: %w", err)
	}
	defer func() { _ = conn.SetDeadline(time.Time{}) }()
	return conn.ReadOffsets()
}

func (f *fetcher) fields(offset int64, err error) watermill.LogFields {
	return watermill.LogFields{"topic": f.topic, "partition": f.partition, "offset": offset, "err": err.Error()}
}
