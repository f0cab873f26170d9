// Package events publishes what changes in meshplane as CloudEvents 1.0: to
// registered webhooks, signed and retried until delivered, and to live
// watchers over both APIs.
//
// The audit log is the outbox. Every change is recorded there in its own
// transaction, in commit order (appends are serialized), so an event exists
// exactly when its change committed and no restart can lose one: a webhook
// keeps a cursor into the log, and the deliveries owed to it are written in
// the catalog before any is attempted.
package events

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/meshplane/meshplane/server/ent"
)

// TypePrefix starts every event type: the audit action follows, e.g.
// dev.meshplane.catalog.UpdateDataProduct.
const TypePrefix = "dev.meshplane."

// SpecVersion is the CloudEvents version of every event.
const SpecVersion = "1.0"

// ContentType is the media type of an event in structured mode.
const ContentType = "application/cloudevents+json"

// Event is one change, as a CloudEvents 1.0 event in structured JSON mode.
// Its id is the audit sequence number, unique within its source; domain and
// sequence are extension attributes.
type Event struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Subject         string    `json:"subject"`
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	// Domain is the domain of the resource that changed; empty for global resources.
	Domain string `json:"domain,omitempty"`
	// Sequence orders events: each is one greater than the last committed.
	Sequence string `json:"sequence"`
	Data     Data   `json:"data"`
}

// Data is what changed: the audit record, with the resource before and after
// as JSON (null when it did not exist).
type Data struct {
	Sequence     int64           `json:"sequence"`
	Actor        string          `json:"actor"`
	Action       string          `json:"action"`
	ResourceType string          `json:"resourceType"`
	Resource     string          `json:"resource"`
	Domain       string          `json:"domain"`
	RequestID    string          `json:"requestId,omitempty"`
	Before       json.RawMessage `json:"before"`
	After        json.RawMessage `json:"after"`
}

// JSON is the event in CloudEvents structured JSON, as webhooks receive it.
func (e Event) JSON() ([]byte, error) { return json.Marshal(e) }

// Seq returns the event's audit sequence number.
func (e Event) Seq() int64 { return e.Data.Sequence }

// TypeOf returns the event type of an audit action.
func TypeOf(action string) string { return TypePrefix + action }

// fromAudit turns an audit record into its event, from source.
func fromAudit(source string, a *ent.AuditEvent) Event {
	return Event{
		SpecVersion: SpecVersion, ID: strconv.FormatInt(a.ID, 10), Source: source, Type: TypeOf(a.Action),
		Subject: a.ResourceType + "/" + a.Resource, Time: a.Time.UTC(), DataContentType: "application/json",
		Domain: a.Domain, Sequence: strconv.FormatInt(a.ID, 10),
		Data: Data{Sequence: a.ID, Actor: a.Actor, Action: a.Action, ResourceType: a.ResourceType,
			Resource: a.Resource, Domain: a.Domain, RequestID: a.RequestID, Before: raw(a.Before), After: raw(a.After)},
	}
}

func raw(snapshot string) json.RawMessage {
	if snapshot == "" {
		return json.RawMessage("null")
	}
	return json.RawMessage(snapshot)
}

// Filter selects events by domain and type.
type Filter struct {
	// Domain is the one domain whose events pass; "*" or "" for every domain
	// and the global resources.
	Domain string
	// Types are event types, each exact or a prefix ending in ".*"; empty for all.
	Types []string
}

// Match reports whether an event of type typ in domain passes f.
func (f Filter) Match(domain, typ string) bool {
	if f.Domain != "" && f.Domain != "*" && f.Domain != domain {
		return false
	}
	if len(f.Types) == 0 {
		return true
	}
	for _, t := range f.Types {
		if prefix, ok := strings.CutSuffix(t, "*"); ok {
			if strings.HasPrefix(typ, prefix) {
				return true
			}
		} else if t == typ {
			return true
		}
	}
	return false
}
