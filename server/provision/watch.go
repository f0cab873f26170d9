package provision

import (
	"context"
	"strings"
	"sync"

	"github.com/meshplane/meshplane/server/ent/provisioningrun"
)

// event is a log line or a state change of a run.
type event struct {
	line  string
	state provisioningrun.State
}

// bus fans run events out to watchers. Slow watchers lose lines rather than
// stall terraform; the stored log stays complete.
type bus struct {
	mu   sync.Mutex
	subs map[string]map[chan event]struct{}
}

func newBus() *bus { return &bus{subs: map[string]map[chan event]struct{}{}} }

func (b *bus) subscribe(id string) (chan event, func()) {
	ch := make(chan event, 1024)
	b.mu.Lock()
	if b.subs[id] == nil {
		b.subs[id] = map[chan event]struct{}{}
	}
	b.subs[id][ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs[id], ch)
		if len(b.subs[id]) == 0 {
			delete(b.subs, id)
		}
		b.mu.Unlock()
	}
}

func (b *bus) publish(id string, e event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[id] {
		select {
		case ch <- e:
		default:
		}
	}
}

// Update is one item of a run's watch stream: a log line or a new state.
type Update struct {
	Line  string
	State provisioningrun.State
}

// WatchRun sends the run's log so far, then its lines and state changes as
// they happen, until the run settles (planned, or finished) or ctx ends.
func (s *Service) WatchRun(ctx context.Context, id string, send func(Update) error) error {
	ch, unsubscribe := s.bus.subscribe(id)
	defer unsubscribe()
	r, err := s.GetRun(ctx, id)
	if err != nil {
		return err
	}
	for _, l := range strings.Split(strings.TrimSuffix(r.Log, "\n"), "\n") {
		if l == "" {
			continue
		}
		if err := send(Update{Line: l}); err != nil {
			return err
		}
	}
	if err := send(Update{State: r.State}); err != nil {
		return err
	}
	st := r.State
	for !settled(st) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-ch:
			if e.state != "" {
				st = e.state
				if err := send(Update{State: st}); err != nil {
					return err
				}
				continue
			}
			if err := send(Update{Line: e.line}); err != nil {
				return err
			}
		}
	}
	return nil
}
