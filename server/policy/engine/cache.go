package engine

import "sync"

// cacheSize bounds how many decisions a Set remembers per query.
const cacheSize = 4096

// decisionCache remembers successful decisions by input digest. A Set is one
// immutable policy version, so an entry never goes stale: publishing builds
// a new Set with empty caches. Failed evaluations (timeouts, errors) are
// never cached, so a transient failure is retried on the next call.
type decisionCache[T any] struct {
	mu sync.RWMutex
	m  map[string]T
}

func (c *decisionCache[T]) get(digest string) (T, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[digest]
	return v, ok
}

func (c *decisionCache[T]) put(digest string, v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]T)
	}
	if len(c.m) >= cacheSize {
		// Forget an arbitrary entry: products change rarely, so the working
		// set is small and any eviction order serves.
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[digest] = v
}
