package podman

// recent remembers keys for a window of time and no more than max of them. A
// size bound alone is not enough: a host that creates and removes containers all
// day (CI runners, timers) would fill it over hours and hold megabytes that only the
// last minutes can need. Entries leave in the order they came, once older than the
// window by the caller's clock (event time or wall time, in nanoseconds).
type recent[K comparable, V any] struct {
	window int64
	max    int
	m      map[K]recentValue[V]
	// queue holds the keys in the order they were put, from head on; a key put
	// again has a newer entry further back, and its older one only leaves the queue.
	queue []recentKey[K]
	head  int
}

type recentValue[V any] struct {
	v  V
	at int64
}

type recentKey[K comparable] struct {
	k  K
	at int64
}

func newRecent[K comparable, V any](window int64, max int) *recent[K, V] {
	return &recent[K, V]{window: window, max: max, m: map[K]recentValue[V]{}}
}

// get returns k's value and whether it is remembered.
func (r *recent[K, V]) get(k K) (V, bool) {
	e, ok := r.m[k]
	return e.v, ok
}

// put remembers k with v at time at, and forgets what is older than now - window.
func (r *recent[K, V]) put(k K, v V, at, now int64) {
	r.m[k] = recentValue[V]{v, at}
	r.queue = append(r.queue, recentKey[K]{k, at})
	r.expire(now)
}

// expire drops the entries older than now - window, and the oldest beyond max.
func (r *recent[K, V]) expire(now int64) {
	for r.head < len(r.queue) {
		q := r.queue[r.head]
		if q.at >= now-r.window && len(r.m) <= r.max {
			break
		}
		if e, ok := r.m[q.k]; ok && e.at == q.at {
			delete(r.m, q.k)
		}
		var zero recentKey[K]
		r.queue[r.head] = zero
		r.head++
	}
	// Reuse the queue's front once most of it is spent, so it stays near the number
	// of live entries instead of growing by one per put forever.
	if r.head > 64 && r.head*2 > len(r.queue) {
		n := copy(r.queue, r.queue[r.head:])
		clear(r.queue[n:])
		r.queue = r.queue[:n]
		r.head = 0
	}
}
