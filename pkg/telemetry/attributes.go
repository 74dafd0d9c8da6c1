package telemetry

import (
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Attributes holds the measurement option of each attribute set a meter
// records with, made once per key: a hot path (every request, every
// delivery) then records without building or allocating a set. Keys must
// be few (routes, subscriptions), since none is forgotten. It is safe for
// concurrent use.
type Attributes[K comparable] struct {
	build func(K) attribute.Set
	mu    sync.RWMutex
	opts  map[K]metric.MeasurementOption
}

// NewAttributes returns an empty cache whose sets build makes.
func NewAttributes[K comparable](build func(K) attribute.Set) *Attributes[K] {
	return &Attributes[K]{build: build, opts: map[K]metric.MeasurementOption{}}
}

// For returns the option recording with k's attribute set.
func (a *Attributes[K]) For(k K) metric.MeasurementOption {
	a.mu.RLock()
	o, ok := a.opts[k]
	a.mu.RUnlock()
	if ok {
		return o
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if o, ok := a.opts[k]; ok {
		return o
	}
	o = metric.WithAttributeSet(a.build(k))
	a.opts[k] = o
	return o
}
