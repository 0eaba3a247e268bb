// Package freelist keeps a bounded number of reusable values between uses.
package freelist

// List is a bounded set of reusable values that, unlike a sync.Pool, survives
// garbage collections: the daemon's heap is small, so collections come several times
// a second, and a pool lets its values go at each, so most uses would make a value
// anew. Values put back past its size are dropped. It is safe for concurrent use.
type List[T any] struct {
	free     chan T
	newValue func() T
}

// New returns a list that keeps up to size values; Get makes one with newValue
// when none is kept.
func New[T any](size int, newValue func() T) *List[T] {
	return &List[T]{free: make(chan T, size), newValue: newValue}
}

// Get returns a kept value, or a new one.
func (l *List[T]) Get() T {
	select {
	case v := <-l.free:
		return v
	default:
		return l.newValue()
	}
}

// Put keeps v for a later Get, unless the list is full.
func (l *List[T]) Put(v T) {
	select {
	case l.free <- v:
	default:
	}
}
