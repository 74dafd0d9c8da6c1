package synthcity

import "fmt"

// Resolve returns a copy of fields with every Ref, at any depth, replaced by
// the id lookup gives for it. It fails on a Ref that lookup does not know.
func Resolve(fields map[string]any, lookup func(Ref) (string, bool)) (map[string]any, error) {
	v, err := resolve(fields, lookup)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

func resolve(v any, lookup func(Ref) (string, bool)) (any, error) {
	switch x := v.(type) {
	case Ref:
		id, ok := lookup(x)
		if !ok {
			return nil, fmt.Errorf("unresolved reference %q", string(x))
		}
		return id, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := resolve(e, lookup)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := resolve(e, lookup)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	default:
		return v, nil
	}
}
