//go:build race

package kafkago_test

// raceEnabled reports whether the race detector is on.
const raceEnabled = true
