package model

import (
	"encoding/json"
	"math"
	"strconv"
)

// Integer returns v, a decoded JSON or Avro value, as an int64: a Go
// integer, a float64 or json.Number holding a whole number in range. It is
// how Validate reads an int or long attribute, and how an encoder of a
// validated state should read it, so the two never disagree.
func Integer(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		if n != math.Trunc(n) || n < math.MinInt64 || n >= math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 64)
		return i, err == nil
	}
	return 0, false
}
