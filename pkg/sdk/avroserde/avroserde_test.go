package avroserde_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
)

const subject = "samnav.person.v1-value"

const schemaV1 = `{"type":"record","name":"Person","namespace":"se.samnav.test","fields":[
  {"name":"id","type":"string"},
  {"name":"age","type":"int"}
]}`

// schemaV2 adds a defaulted field and widens age to long: BACKWARD
// compatible with v1, and v1 can still read v2 data (FORWARD) only if age
// stays int, so v2Forward keeps int.
const schemaV2 = `{"type":"record","name":"Person","namespace":"se.samnav.test","fields":[
  {"name":"id","type":"string"},
  {"name":"age","type":"long"},
  {"name":"municipality","type":"string","default":"0180"}
]}`

const schemaV2Forward = `{"type":"record","name":"Person","namespace":"se.samnav.test","fields":[
  {"name":"id","type":"string"},
  {"name":"age","type":"int"},
  {"name":"municipality","type":"string","default":"0180"}
]}`

type personV1 struct {
	ID  string `avro:"id"`
	Age int32  `avro:"age"`
}

type personV2 struct {
	ID           string `avro:"id"`
	Age          int64  `avro:"age"`
	Municipality string `avro:"municipality"`
}

type personV2Forward struct {
	ID           string `avro:"id"`
	Age          int32  `avro:"age"`
	Municipality string `avro:"municipality"`
}

func newClient(t testing.TB, url string, opts ...avroserde.Option) *avroserde.RegistryClient {
	t.Helper()
	c, err := avroserde.NewRegistryClient(url, opts...)
	if err != nil {
		t.Fatalf("NewRegistryClient: %v", err)
	}
	return c
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		wantID  uint32
		body    []byte
		wantErr error
	}{
		{"empty", nil, 0, nil, avroserde.ErrTruncated},
		{"four bytes", []byte{0, 0, 0, 1}, 0, nil, avroserde.ErrTruncated},
		{"wrong magic", []byte{1, 0, 0, 0, 1, 2}, 0, nil, avroserde.ErrWrongMagicByte},
		{"header only", []byte{0, 0, 0, 0, 7}, 7, []byte{}, nil},
		{"big-endian id", []byte{0, 0x01, 0x02, 0x03, 0x04, 0xaa}, 0x01020304, []byte{0xaa}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, body, err := avroserde.ParseHeader(tt.data)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				var e *avroserde.Error
				if !errors.As(err, &e) || e.Op != "parse header" {
					t.Errorf("err %v is not an *Error with op parse header", err)
				}
				return
			}
			if id != tt.wantID || !bytes.Equal(body, tt.body) {
				t.Errorf("got id %d body %x, want %d %x", id, body, tt.wantID, tt.body)
			}
		})
	}
}

func TestAppendHeaderRoundTrip(t *testing.T) {
	for _, id := range []uint32{0, 1, 255, 256, 1 << 24, 1<<32 - 1} {
		data := avroserde.AppendHeader([]byte{}, id)
		data = append(data, 0x42)
		got, body, err := avroserde.ParseHeader(data)
		if err != nil || got != id || !bytes.Equal(body, []byte{0x42}) {
			t.Errorf("id %d: got %d %x %v", id, got, body, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	reg := newFakeRegistry(t)
	client := newClient(t, reg.URL())
	ser, err := avroserde.NewSerializer(client, subject, schemaV1)
	if err != nil {
		t.Fatal(err)
	}
	in := personV1{ID: "b3c5", Age: 42}
	data, err := ser.Encode(in)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	id, body, err := avroserde.ParseHeader(data)
	if err != nil || id != 1 {
		t.Fatalf("header: id %d err %v", id, err)
	}
	plain, err := avro.Marshal(avro.MustParse(schemaV1), in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, plain) {
		t.Errorf("body %x, want the plain Avro encoding %x", body, plain)
	}
	// A second consumer with its own client fetches the schema by id.
	des, err := avroserde.NewDeserializer(newClient(t, reg.URL()), avro.MustParse(schemaV1))
	if err != nil {
		t.Fatal(err)
	}
	var out personV1
	if err := des.Decode(data, &out); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if out != in {
		t.Errorf("got %+v, want %+v", out, in)
	}
	if _, err := ser.Encode(personV1{ID: "x"}); err != nil {
		t.Fatal(err)
	}
	if n := reg.posts.Load(); n != 1 {
		t.Errorf("registry saw %d registrations, want 1 (id kept after the first)", n)
	}
	if n := reg.badAccept.Load(); n != 0 {
		t.Errorf("%d requests lacked the schema registry Accept/Content-Type headers", n)
	}
}

func TestResolution(t *testing.T) {
	tests := []struct {
		name   string
		writer string
		reader string
		in     any
		out    func() any
		want   any
	}{
		{
			name:   "writer v1 reader v2 gets the default and int widened to long",
			writer: schemaV1, reader: schemaV2,
			in:   personV1{ID: "a", Age: 7},
			out:  func() any { return &personV2{} },
			want: &personV2{ID: "a", Age: 7, Municipality: "0180"},
		},
		{
			name:   "writer v2 reader v1 skips the new field",
			writer: schemaV2Forward, reader: schemaV1,
			in:   personV2Forward{ID: "b", Age: 9, Municipality: "0114"},
			out:  func() any { return &personV1{} },
			want: &personV1{ID: "b", Age: 9},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newFakeRegistry(t)
			client := newClient(t, reg.URL())
			ser, err := avroserde.NewSerializer(client, subject, tt.writer)
			if err != nil {
				t.Fatal(err)
			}
			data, err := ser.Encode(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			des, err := avroserde.NewDeserializer(client, avro.MustParse(tt.reader))
			if err != nil {
				t.Fatal(err)
			}
			got := tt.out()
			if err := des.Decode(data, got); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			switch w := tt.want.(type) {
			case *personV2:
				if *got.(*personV2) != *w {
					t.Errorf("got %+v, want %+v", got, w)
				}
			case *personV1:
				if *got.(*personV1) != *w {
					t.Errorf("got %+v, want %+v", got, w)
				}
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	reg := newFakeRegistry(t)
	v1 := reg.mustAdd(subject, schemaV1)
	incompatible := reg.mustAdd("other-value", `{"type":"record","name":"Person","namespace":"se.samnav.test","fields":[{"name":"id","type":"int"}]}`)
	good, err := avro.Marshal(avro.MustParse(schemaV1), personV1{ID: "abc", Age: 1})
	if err != nil {
		t.Fatal(err)
	}
	frame := func(id uint32, body []byte) []byte { return append(avroserde.AppendHeader(nil, id), body...) }

	tests := []struct {
		name   string
		data   []byte
		want   error
		wantID uint32
	}{
		{"no bytes", nil, avroserde.ErrTruncated, 0},
		{"wrong magic", append([]byte{1}, frame(v1, good)[1:]...), avroserde.ErrWrongMagicByte, 0},
		{"unknown id", frame(999, good), avroserde.ErrUnknownSchemaID, 999},
		{"body ends early", frame(v1, good[:len(good)-1]), avroserde.ErrTruncated, v1},
		{"empty body", frame(v1, nil), avroserde.ErrTruncated, v1},
		{"trailing bytes", frame(v1, append(append([]byte{}, good...), 0)), avroserde.ErrMalformedBody, v1},
		{"negative string length", frame(v1, []byte{0x01, 0x02}), avroserde.ErrMalformedBody, v1},
		{"incompatible writer", frame(incompatible, []byte{0x02}), avroserde.ErrIncompatible, incompatible},
	}
	des, err := avroserde.NewDeserializer(newClient(t, reg.URL()), avro.MustParse(schemaV1))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out personV1
			err := des.Decode(tt.data, &out)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var e *avroserde.Error
			if !errors.As(err, &e) {
				t.Fatalf("err %T is not an *avroserde.Error", err)
			}
			if e.SchemaID != tt.wantID {
				t.Errorf("SchemaID = %d, want %d", e.SchemaID, tt.wantID)
			}
			if avroserde.Retryable(err) {
				t.Errorf("%v reported retryable", err)
			}
		})
	}
}

func TestRegistryUnavailableIsRetriedNotCached(t *testing.T) {
	reg := newFakeRegistry(t)
	id := reg.mustAdd(subject, schemaV1)
	body, _ := avro.Marshal(avro.MustParse(schemaV1), personV1{ID: "z", Age: 3})
	data := append(avroserde.AppendHeader(nil, id), body...)
	des, err := avroserde.NewDeserializer(newClient(t, reg.URL()), avro.MustParse(schemaV1))
	if err != nil {
		t.Fatal(err)
	}
	reg.fail5xx.Store(1)
	var out personV1
	err = des.Decode(data, &out)
	if !errors.Is(err, avroserde.ErrRegistryUnavailable) || !avroserde.Retryable(err) {
		t.Fatalf("err = %v, want retryable ErrRegistryUnavailable", err)
	}
	var re *avroserde.RegistryError
	if !errors.As(err, &re) || re.Status != http.StatusServiceUnavailable || re.Code != 50003 {
		t.Errorf("cause = %#v, want the registry's 503 / 50003", re)
	}
	if err := des.Decode(data, &out); err != nil {
		t.Fatalf("second Decode after the registry recovered: %v", err)
	}
	if out.ID != "z" {
		t.Errorf("got %+v", out)
	}
}

func TestRegistryDown(t *testing.T) {
	reg := newFakeRegistry(t)
	url := reg.URL()
	reg.srv.Close()
	des, err := avroserde.NewDeserializer(newClient(t, url, avroserde.WithTimeout(2*time.Second)), avro.MustParse(schemaV1))
	if err != nil {
		t.Fatal(err)
	}
	err = des.Decode([]byte{0, 0, 0, 0, 1, 2}, &personV1{})
	if !errors.Is(err, avroserde.ErrRegistryUnavailable) {
		t.Fatalf("err = %v, want ErrRegistryUnavailable", err)
	}
}

func TestCacheFetchesWriterSchemaOnce(t *testing.T) {
	reg := newFakeRegistry(t)
	id := reg.mustAdd(subject, schemaV1)
	reg.delay.Store(int64(50 * time.Millisecond)) // keep the first fetch in flight while others miss
	body, _ := avro.Marshal(avro.MustParse(schemaV1), personV1{ID: "p", Age: 5})
	data := append(avroserde.AppendHeader(nil, id), body...)
	des, err := avroserde.NewDeserializer(newClient(t, reg.URL()), avro.MustParse(schemaV2))
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			var out personV2
			if err := des.Decode(data, &out); err != nil {
				errs <- err
				return
			}
			if out != (personV2{ID: "p", Age: 5, Municipality: "0180"}) {
				errs <- errors.New("wrong value decoded")
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := reg.getByID.Load(); got != 1 {
		t.Errorf("registry served %d GET /schemas/ids, want 1", got)
	}
}

func TestSerializerModes(t *testing.T) {
	tests := []struct {
		name      string
		preload   bool
		reject    bool
		opts      []avroserde.SerializerOption
		wantErr   error
		wantPosts int64
	}{
		{name: "auto-register", wantPosts: 1},
		{name: "lookup-only finds a registered schema", preload: true, opts: []avroserde.SerializerOption{avroserde.LookupOnly()}, wantPosts: 1},
		{name: "lookup-only refuses an unregistered schema", opts: []avroserde.SerializerOption{avroserde.LookupOnly()}, wantErr: avroserde.ErrNotRegistered, wantPosts: 1},
		{name: "registry refuses an incompatible schema", reject: true, wantErr: avroserde.ErrIncompatible, wantPosts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newFakeRegistry(t)
			if tt.preload {
				reg.mustAdd(subject, schemaV1)
			}
			reg.reject[subject] = tt.reject
			ser, err := avroserde.NewSerializer(newClient(t, reg.URL()), subject, schemaV1, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ser.Encode(personV1{ID: "q"})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var e *avroserde.Error
			if err != nil && (!errors.As(err, &e) || e.Subject != subject) {
				t.Errorf("err %v does not name subject %q", err, subject)
			}
			if got := reg.posts.Load(); got != tt.wantPosts {
				t.Errorf("registry saw %d POSTs, want %d", got, tt.wantPosts)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name    string
		require string
		opts    []avroserde.Option
		wantErr error
	}{
		{"bearer", "Bearer s3cret", []avroserde.Option{avroserde.WithBearerToken("s3cret")}, nil},
		{"basic", "Basic dTpw", []avroserde.Option{avroserde.WithBasicAuth("u", "p")}, nil},
		{"missing credentials", "Bearer s3cret", nil, avroserde.ErrRegistryRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newFakeRegistry(t)
			reg.wantAuth = tt.require
			ser, err := avroserde.NewSerializer(newClient(t, reg.URL(), tt.opts...), subject, schemaV1)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ser.EncodeContext(context.Background(), personV1{ID: "a"})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestEncodeRejectsValueThatDoesNotFit(t *testing.T) {
	reg := newFakeRegistry(t)
	ser, err := avroserde.NewSerializer(newClient(t, reg.URL()), subject, schemaV1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ser.Encode(map[string]any{"id": 12, "age": "old"})
	if !errors.Is(err, avroserde.ErrEncode) {
		t.Fatalf("err = %v, want ErrEncode", err)
	}
}

func TestConstructorsValidate(t *testing.T) {
	if _, err := avroserde.NewRegistryClient("localhost:8081"); err == nil {
		t.Error("NewRegistryClient accepted a URL without scheme")
	}
	if _, err := avroserde.NewRegistryClient("http://x", avroserde.WithTimeout(0)); err == nil {
		t.Error("NewRegistryClient accepted a zero timeout")
	}
	c := newClient(t, "http://127.0.0.1:1")
	if _, err := avroserde.NewSerializer(c, "", schemaV1); err == nil {
		t.Error("NewSerializer accepted an empty subject")
	}
	if _, err := avroserde.NewSerializer(c, subject, `{"type":"record"}`); !errors.Is(err, avro.ErrInvalidSchema) {
		t.Errorf("NewSerializer with an invalid schema: err = %v, want avro.ErrInvalidSchema", err)
	}
	if _, err := avroserde.NewDeserializer(nil, avro.MustParse(schemaV1)); err == nil {
		t.Error("NewDeserializer accepted a nil source")
	}
}

func TestSubjectWithSlashIsEscaped(t *testing.T) {
	reg := newFakeRegistry(t)
	const odd = "samnav/odd name-value"
	ser, err := avroserde.NewSerializer(newClient(t, reg.URL()), odd, schemaV1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ser.Encode(personV1{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if _, ok := reg.subjects[odd]; !ok {
		t.Errorf("registry subjects %v, want %q", reg.subjects, odd)
	}
}
