package avro

import (
	"fmt"

	hamba "github.com/hamba/avro/v2"
)

// maxDepth bounds nesting (records in records, recursive types) in data
// from outside, so a crafted message cannot drive the decoder's recursion
// arbitrarily deep.
const maxDepth = 256

// checkData walks data as an encoding of schema s without building any
// value, and reports whether it is exactly one well-formed value: every
// length, count, union branch and enum index in range, within MaxBytesSize
// and MaxItems, nested at most maxDepth deep, and no byte left over. Its
// work is bounded by len(data) plus MaxItems.
func checkData(s hamba.Schema, data []byte) error {
	c := checker{data: data}
	if err := c.value(s, 0); err != nil {
		return err
	}
	if c.off != len(c.data) {
		return fmt.Errorf("%w: %d bytes after the value", ErrTrailingData, len(c.data)-c.off)
	}
	return nil
}

type checker struct {
	data  []byte
	off   int
	items int // array and map items seen so far, against MaxItems
}

func (c *checker) varint(maxBytes int, what string) (int64, error) {
	var u uint64
	for i := 0; i < maxBytes; i++ {
		if c.off >= len(c.data) {
			return 0, fmt.Errorf("%w: inside %s", ErrShortData, what)
		}
		b := c.data[c.off]
		c.off++
		u |= uint64(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			return int64(u>>1) ^ -int64(u&1), nil
		}
	}
	return 0, fmt.Errorf("%w: %s varint longer than %d bytes", ErrBadData, what, maxBytes)
}

func (c *checker) skip(n int64, what string) error {
	if n > int64(len(c.data)-c.off) {
		return fmt.Errorf("%w: %s needs %d bytes, %d left", ErrShortData, what, n, len(c.data)-c.off)
	}
	c.off += int(n)
	return nil
}

func (c *checker) length(what string) (int64, error) {
	n, err := c.varint(10, "length")
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("%w: %s length %d is negative", ErrBadData, what, n)
	}
	if n > MaxBytesSize {
		return 0, fmt.Errorf("%w: %s length %d over the %d-byte limit", ErrBadData, what, n, MaxBytesSize)
	}
	return n, nil
}

func (c *checker) value(s hamba.Schema, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested deeper than %d", ErrBadData, maxDepth)
	}
	switch s.Type() {
	case hamba.Null:
		return nil
	case hamba.Boolean:
		if c.off >= len(c.data) {
			return fmt.Errorf("%w: inside boolean", ErrShortData)
		}
		if b := c.data[c.off]; b > 1 {
			return fmt.Errorf("%w: boolean byte 0x%02x", ErrBadData, b)
		}
		c.off++
		return nil
	case hamba.Int:
		_, err := c.varint(5, "int")
		return err
	case hamba.Long:
		_, err := c.varint(10, "long")
		return err
	case hamba.Float:
		return c.skip(4, "float")
	case hamba.Double:
		return c.skip(8, "double")
	case hamba.String, hamba.Bytes:
		n, err := c.length(string(s.Type()))
		if err != nil {
			return err
		}
		return c.skip(n, string(s.Type()))
	case hamba.Fixed:
		return c.skip(int64(s.(*hamba.FixedSchema).Size()), "fixed")
	case hamba.Enum:
		i, err := c.varint(5, "enum index")
		if err != nil {
			return err
		}
		if n := len(s.(*hamba.EnumSchema).Symbols()); i < 0 || i >= int64(n) {
			return fmt.Errorf("%w: enum index %d out of range [0,%d)", ErrBadData, i, n)
		}
		return nil
	case hamba.Union:
		types := s.(*hamba.UnionSchema).Types()
		i, err := c.varint(10, "union index")
		if err != nil {
			return err
		}
		if i < 0 || i >= int64(len(types)) {
			return fmt.Errorf("%w: union index %d out of range [0,%d)", ErrBadData, i, len(types))
		}
		return c.value(types[i], depth+1)
	case hamba.Record:
		for _, f := range s.(*hamba.RecordSchema).Fields() {
			if err := c.value(f.Type(), depth+1); err != nil {
				return err
			}
		}
		return nil
	case hamba.Array:
		return c.blocks(s.(*hamba.ArraySchema).Items(), false, depth)
	case hamba.Map:
		return c.blocks(s.(*hamba.MapSchema).Values(), true, depth)
	case hamba.Ref:
		return c.value(s.(*hamba.RefSchema).Schema(), depth+1)
	default:
		return fmt.Errorf("%w: schema type %q not supported", ErrBadData, s.Type())
	}
}

// blocks checks the blocks of an array (items) or map (string keys and
// values): a count, for a negative count also a byte size, then the items,
// until a zero count.
func (c *checker) blocks(item hamba.Schema, keyed bool, depth int) error {
	for {
		n, err := c.varint(10, "block count")
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if n < 0 {
			n = -n
			size, err := c.varint(10, "block size")
			if err != nil {
				return err
			}
			if size < 0 {
				return fmt.Errorf("%w: block size %d is negative", ErrBadData, size)
			}
		}
		if n < 0 || n > int64(MaxItems-c.items) {
			return fmt.Errorf("%w: block count %d over the %d-item limit", ErrBadData, n, MaxItems)
		}
		c.items += int(n)
		for range n {
			if keyed {
				k, err := c.length("map key")
				if err != nil {
					return err
				}
				if err := c.skip(k, "map key"); err != nil {
					return err
				}
			}
			if err := c.value(item, depth+1); err != nil {
				return err
			}
		}
	}
}
