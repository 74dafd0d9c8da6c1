package feed

// Parked reports whether a long poll of sub waits for its next event:
// tests deliver once it has, instead of sleeping and hoping it did.
func (f *Feed) Parked(sub string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.wake[sub]
	return ok
}
