package avro_test

import (
	"errors"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/avro"
)

// FuzzParse feeds Parse arbitrary schema text: it must return a schema or an
// ErrInvalidSchema, never panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`"string"`,
		`{"type":"record","name":"A","fields":[{"name":"a","type":"int"}]}`,
		`{"type":"record","name":"A","fields":[{"name":"a","type":[],"default":null}]}`,
		`{"type":"enum","name":"E","symbols":["A","B"]}`,
		`{"type":"array","items":{"type":"map","values":"long"}}`,
		`[`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := avro.Parse(text)
		if err != nil && !errors.Is(err, avro.ErrInvalidSchema) {
			t.Fatalf("Parse error %v does not wrap ErrInvalidSchema", err)
		}
		if err == nil && s == nil {
			t.Fatal("Parse returned neither a schema nor an error")
		}
	})
}

func TestParseRecoversFromImplementationPanic(t *testing.T) {
	_, err := avro.Parse(`{"type":"record","name":"A","fields":[{"name":"a","type":[],"default":null}]}`)
	if !errors.Is(err, avro.ErrInvalidSchema) {
		t.Fatalf("Parse = %v, want ErrInvalidSchema", err)
	}
}
