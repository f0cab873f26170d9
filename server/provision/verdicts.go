package provision

import (
	"sync"
	"time"

	"github.com/meshplane/meshplane/server/masking"
)

// verdicts keeps the policy's judgement a run was queued with, so that its
// plan — when this replica works it soon, the product and the policy in
// force unchanged — renders from that judgement instead of judging the
// product a second time. A plan on another replica, or later, judges again.
type verdicts struct {
	mu   sync.Mutex
	runs map[string]verdict
}

type verdict struct {
	productVersion int64
	governed       masking.Governed
	at             time.Time
}

// verdictTTL bounds how long a judgement waits for its plan.
const verdictTTL = 5 * time.Minute

func (v *verdicts) keep(runID string, productVersion int64, g masking.Governed) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.runs == nil {
		v.runs = map[string]verdict{}
	}
	now := time.Now()
	for id, old := range v.runs {
		if now.Sub(old.at) > verdictTTL {
			delete(v.runs, id)
		}
	}
	v.runs[runID] = verdict{productVersion: productVersion, governed: g, at: now}
}

// take returns the judgement run runID was queued with, when it judged
// productVersion under policyVersion, and forgets it either way.
func (v *verdicts) take(runID string, productVersion int64, policyVersion string) (masking.Governed, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	got, ok := v.runs[runID]
	delete(v.runs, runID)
	if !ok || got.productVersion != productVersion || got.governed.PolicyVersion != policyVersion || time.Since(got.at) > verdictTTL {
		return masking.Governed{}, false
	}
	return got.governed, true
}
