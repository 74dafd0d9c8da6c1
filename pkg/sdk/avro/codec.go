package avro

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"

	hamba "github.com/hamba/avro/v2"
)

// Errors the strict decoding path wraps, so that callers can tell a body that
// ended early from one that is otherwise wrong.
var (
	// ErrShortData is wrapped when the data ends before the value does.
	ErrShortData = errors.New("avro data ends early")
	// ErrTrailingData is wrapped when bytes remain after the value.
	ErrTrailingData = errors.New("avro data has trailing bytes")
	// ErrBadData is wrapped when the data is not a valid encoding of the
	// schema (a negative length, a union or enum index out of range, a size
	// over the decoding limits, ...).
	ErrBadData = errors.New("avro data is malformed")
)

// Decoding limits for data from outside: a string or bytes value larger than
// MaxBytesSize, or an array or map block claiming more than MaxItems
// elements, is rejected before anything is allocated for it.
const (
	MaxBytesSize = 1 << 20
	MaxItems     = 1 << 20
)

// strictConfig decodes outside input with explicit allocation limits. Its
// decoder cache is separate from hamba's DefaultConfig, which Marshal and
// Unmarshal use.
var strictConfig = hamba.Config{
	TagKey:            "avro",
	BlockLength:       100,
	MaxByteSliceSize:  MaxBytesSize,
	MaxSliceAllocSize: MaxItems,
}.Freeze()

// AppendMarshal appends the Avro binary encoding of v with schema s to dst
// and returns the extended slice. It produces the same bytes as Marshal; the
// only difference is that the caller chooses the buffer, so a header and the
// body can share one allocation. On error dst is returned unchanged in
// length.
func AppendMarshal(dst []byte, s *Schema, v any) ([]byte, error) {
	return appendEncode(dst, s.s, v)
}

func appendEncode(dst []byte, s hamba.Schema, v any) (out []byte, err error) {
	defer func() {
		// hamba's encoders are reflective; a value of an unsupported shape
		// has been seen to panic rather than report. Samnav never panics on
		// a caller's value, so report it as an error instead.
		if r := recover(); r != nil {
			out, err = dst, fmt.Errorf("avro encode: %v", r)
		}
	}()
	w := writerPool.get()
	defer writerPool.put(w)
	w.WriteVal(s, v)
	if w.Error != nil {
		return dst, fmt.Errorf("avro encode: %w", w.Error)
	}
	return append(dst, w.Buffer()...), nil
}

// UnmarshalStrict decodes data, written with schema s, into v, and insists
// that data holds exactly one value: data that ends early wraps
// ErrShortData, bytes left over wrap ErrTrailingData, and anything else
// wrong wraps ErrBadData. It never panics and its work is bounded by the
// size of data, whatever the bytes.
func UnmarshalStrict(s *Schema, data []byte, v any) error {
	return decodeStrict(s.s, s.s, needsCheck(s.s), data, v)
}

// Decoder is the strict counterpart of Resolver: it decodes data written
// with one schema into values shaped by another, with the guarantees of
// UnmarshalStrict. It is safe for concurrent use.
type Decoder struct {
	writer   hamba.Schema
	resolved hamba.Schema
	check    bool // data must pass checkData before hamba sees it
}

// NewDecoder prepares strict decoding of writer-schema data into
// reader-shaped values. It fails when reader cannot read writer.
func NewDecoder(reader, writer *Schema) (*Decoder, error) {
	r, err := NewResolver(reader, writer)
	if err != nil {
		return nil, err
	}
	return &Decoder{
		writer:   writer.s,
		resolved: r.resolved,
		check:    reader.fp != writer.fp || needsCheck(writer.s),
	}, nil
}

// Decode decodes data written with the decoder's writer schema into v.
func (d *Decoder) Decode(data []byte, v any) error {
	return decodeStrict(d.writer, d.resolved, d.check, data, v)
}

// decodeStrict decodes with hamba, first checking data against the writer
// schema with a validating walk of its own (checkData) unless that is known
// to be unnecessary. The walk is needed because hamba trusts block counts:
// its skip decoders (for writer fields the reader lacks) and its generic
// array and map readers (for targets holding interfaces, such as
// map[string]any) loop over a claimed item count without checking for
// errors, so nine bytes claiming 2^62 items would spin for hours. Data that
// passes the walk is well formed, and those loops end with it.
//
// The walk is skipped only on the path hamba itself bounds: reader and
// writer the same schema (no skipping), no named-type references (so no
// recursion deeper than the data is long), and a target whose Go type holds
// no interface (typed decoders stop at the first error and cap array
// growth at MaxItems).
func decodeStrict(writer, resolved hamba.Schema, check bool, data []byte, v any) (err error) {
	if check || !typedTarget(v) {
		if err := checkData(writer, data); err != nil {
			return fmt.Errorf("avro decode: %w", err)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("avro decode: %w: %v", ErrBadData, r)
		}
	}()
	rd := readerPool.get(data)
	defer readerPool.put(rd)
	rd.ReadVal(resolved, v)
	if rd.Error != nil {
		if errors.Is(rd.Error, io.ErrUnexpectedEOF) || errors.Is(rd.Error, io.EOF) {
			return fmt.Errorf("avro decode: %w", ErrShortData)
		}
		return fmt.Errorf("avro decode: %w: %w", ErrBadData, rd.Error)
	}
	// Peek sets io.EOF exactly when every byte has been consumed.
	rd.Peek()
	if !errors.Is(rd.Error, io.EOF) {
		return fmt.Errorf("avro decode: %w", ErrTrailingData)
	}
	return nil
}

// Writers and readers are pooled: hamba's own pools are private to its
// Marshal and Unmarshal, and a fresh Writer or Reader per call would cost an
// allocation each.
var (
	writerPool = writers{p: sync.Pool{New: func() any {
		return hamba.NewWriter(nil, 512, hamba.WithWriterConfig(hamba.DefaultConfig))
	}}}
	readerPool = readers{p: sync.Pool{New: func() any {
		return hamba.NewReader(nil, 0, hamba.WithReaderConfig(strictConfig))
	}}}
)

type writers struct{ p sync.Pool }

func (w *writers) get() *hamba.Writer {
	wr := w.p.Get().(*hamba.Writer)
	wr.Reset(nil)
	return wr
}

func (w *writers) put(wr *hamba.Writer) {
	wr.Error = nil
	if cap(wr.Buffer()) > 64<<10 {
		return // let an unusually large buffer go rather than pin it
	}
	w.p.Put(wr)
}

type readers struct{ p sync.Pool }

func (r *readers) get(data []byte) *hamba.Reader {
	rd := r.p.Get().(*hamba.Reader)
	rd.Reset(data)
	rd.Error = nil
	return rd
}

func (r *readers) put(rd *hamba.Reader) {
	rd.Error = nil
	rd.Reset(nil)
	r.p.Put(rd)
}

// needsCheck reports whether data of schema s must always be walked by
// checkData: when s refers to a named type (possibly itself), hamba's
// recursion depth is bounded only by the data.
func needsCheck(s hamba.Schema) bool {
	switch t := s.(type) {
	case *hamba.RefSchema:
		return true
	case *hamba.RecordSchema:
		for _, f := range t.Fields() {
			if needsCheck(f.Type()) {
				return true
			}
		}
	case *hamba.ArraySchema:
		return needsCheck(t.Items())
	case *hamba.MapSchema:
		return needsCheck(t.Values())
	case *hamba.UnionSchema:
		for _, u := range t.Types() {
			if needsCheck(u) {
				return true
			}
		}
	}
	return false
}

var typedTargets sync.Map // reflect.Type -> bool

// typedTarget reports whether v is a pointer to a struct whose type holds
// no interface anywhere, so hamba decodes it with typed decoders only.
func typedTarget(v any) bool {
	t := reflect.TypeOf(v)
	if t == nil {
		return false
	}
	if ok, found := typedTargets.Load(t); found {
		return ok.(bool)
	}
	ok := t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && noInterface(t.Elem(), map[reflect.Type]bool{})
	typedTargets.Store(t, ok)
	return ok
}

func noInterface(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return true
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return false
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return noInterface(t.Elem(), seen)
	case reflect.Map:
		return noInterface(t.Key(), seen) && noInterface(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if !noInterface(t.Field(i).Type, seen) {
				return false
			}
		}
	}
	return true
}
