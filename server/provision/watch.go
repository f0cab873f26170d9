package provision

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/meshplane/meshplane/server/ent/provisioningrun"
)

// feed wakes this replica's watchers of a run when it changed here. Runs
// change on any replica, so watchers also poll the catalog: the run's row
// is the one record of its state and log, and the feed only makes changes
// made here show at once.
type feed struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

func newFeed() *feed { return &feed{subs: map[string]map[chan struct{}]struct{}{}} }

func (f *feed) subscribe(id string) (chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	if f.subs[id] == nil {
		f.subs[id] = map[chan struct{}]struct{}{}
	}
	f.subs[id][ch] = struct{}{}
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		delete(f.subs[id], ch)
		if len(f.subs[id]) == 0 {
			delete(f.subs, id)
		}
		f.mu.Unlock()
	}
}

func (f *feed) publish(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// watchPoll is how often a watcher looks at a run that changes on another replica.
const watchPoll = 300 * time.Millisecond

// Update is one item of a run's watch stream: a log line or a new state.
type Update struct {
	Line  string
	State provisioningrun.State
}

// WatchRun sends the run's log so far, then its lines and state changes as
// they happen, on whichever replica executes it, until the run settles
// (planned, or finished) or ctx ends.
func (s *Service) WatchRun(ctx context.Context, id string, send func(Update) error) error {
	wake, unsubscribe := s.feed.subscribe(id)
	defer unsubscribe()
	r, err := s.GetRun(ctx, id)
	if err != nil {
		return err
	}
	sentLog, sentState := 0, provisioningrun.State("")
	tick := time.NewTicker(watchPoll)
	defer tick.Stop()
	for {
		// Whole lines only: the stored log grows by whole lines.
		if n := strings.LastIndexByte(r.Log, '\n') + 1; n > sentLog {
			for _, l := range strings.Split(r.Log[sentLog:n-1], "\n") {
				if l == "" {
					continue
				}
				if err := send(Update{Line: l}); err != nil {
					return err
				}
			}
			sentLog = n
		}
		if r.State != sentState {
			if err := send(Update{State: r.State}); err != nil {
				return err
			}
			sentState = r.State
		}
		if settled(r.State) {
			return nil
		}
		changedAt := r.UpdateTime
		for r.UpdateTime.Equal(changedAt) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-wake:
			case <-tick.C:
			}
			// The update time moves with every state change and log append;
			// the run is read again only when it did.
			t, err := s.store.Client.ProvisioningRun.Query().Where(provisioningrun.ID(id)).Select(provisioningrun.FieldUpdateTime).Only(ctx)
			if err != nil {
				return err
			}
			if t.UpdateTime.Equal(changedAt) {
				continue
			}
			if r, err = s.store.Client.ProvisioningRun.Get(ctx, id); err != nil {
				return err
			}
		}
	}
}
