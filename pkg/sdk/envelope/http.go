package envelope

import "net/http"

// ToHTTPHeaders writes the parts of e that travel as HTTP headers on a
// webhook request, the W3C trace context, into h. The event's other
// attributes travel in the JSON body (see the webhook and feed packages),
// as the Standard Webhooks and CloudEvents structured mode have them.
func (e Envelope) ToHTTPHeaders(h http.Header) {
	if e.TraceParent != "" {
		h.Set(HeaderTraceParent, e.TraceParent)
	}
	if e.TraceState != "" {
		h.Set(HeaderTraceState, e.TraceState)
	}
}

// FromHTTPHeaders reads what ToHTTPHeaders writes.
func FromHTTPHeaders(h http.Header) Envelope {
	return Envelope{TraceParent: h.Get(HeaderTraceParent), TraceState: h.Get(HeaderTraceState)}
}
