package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meshplane/meshplane/server/access"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/preview"
	"github.com/meshplane/meshplane/server/spec"
)

// Preview limits: how many records, and how long reading may take.
const (
	DefaultPreviewLimit = 10
	MaxPreviewLimit     = 100
	previewTimeout      = 5 * time.Second
)

// PreviewSource reads the topics of one environment's Kafka.
type PreviewSource struct {
	Environment string
	Reader      *preview.Reader
}

// PortPreview is the newest records of an output port in one environment,
// masked for the caller.
type PortPreview struct {
	Environment string
	Topic       string
	Records     []preview.Record
	// RawPII is set when the caller may see PII as the topic holds it.
	RawPII bool
	// Incomplete is set when the topic was not read to its end in time.
	Incomplete bool
}

// GetPortPreview reads the newest records of an output port's topic in env
// ("" for the first source's) and applies the caller's masking on top of
// the connectors': without the product read-pii right, PII fields come back
// as pseudonyms and sensitive or undeclared fields not at all. Raw reads
// are audited.
func (s *Service) GetPortPreview(ctx context.Context, dom, product, port, env string, limit int) (PortPreview, error) {
	var v errs.Violations
	spec.CheckName(&v, "domain", dom)
	spec.CheckName(&v, "product", product)
	spec.CheckName(&v, "port", port)
	src, known := PreviewSource{}, false
	if env != "" {
		spec.CheckName(&v, "environment", env)
	}
	for i, p := range s.cfg.Previews {
		if (env == "" && i == 0) || p.Environment == env {
			src, known = p, true
		}
	}
	if env != "" && !known && v.Len() == 0 {
		names := make([]string, len(s.cfg.Previews))
		for i, p := range s.cfg.Previews {
			names[i] = p.Environment
		}
		v.Add("environment", "no environment %q: previews read %s", env, strings.Join(names, ", "))
	}
	if limit == 0 {
		limit = DefaultPreviewLimit
	}
	if limit < 1 || limit > MaxPreviewLimit {
		v.Add("limit", "must be between 1 and %d, got %d", MaxPreviewLimit, limit)
	}
	if err := v.Err(); err != nil {
		return PortPreview{}, err
	}
	p, err := s.GetDataProduct(ctx, dom, product)
	if err != nil {
		return PortPreview{}, err
	}
	var op *spec.OutputPort
	for i := range p.Ports {
		if p.Ports[i].Name == port {
			op = &p.Ports[i]
		}
	}
	if op == nil {
		return PortPreview{}, errs.NotFound("output port", dom+"/"+product+"/"+port)
	}
	if src.Reader == nil {
		return PortPreview{}, errs.New(errs.KindUnavailable, "previews need a Kafka cluster and none is configured")
	}
	raw := s.authz.Can(ctx, dom, access.ObjProduct, access.ActReadPII)
	rctx, cancel := context.WithTimeout(ctx, previewTimeout)
	defer cancel()
	recs, err := src.Reader.Last(rctx, op.Topic, limit)
	if errors.Is(err, preview.ErrUnknownTopic) {
		return PortPreview{}, errs.New(errs.KindFailedPrecondition, "topic %s does not exist in %s yet: provision the product there first", op.Topic, src.Environment).WithReason("TOPIC_NOT_FOUND")
	}
	incomplete := errors.Is(err, preview.ErrIncomplete) && len(recs) > 0
	if err != nil && !incomplete {
		return PortPreview{}, errs.New(errs.KindUnavailable, "reading topic %s in %s: %v", op.Topic, src.Environment, err).WithReason("PREVIEW_UNAVAILABLE")
	}
	if raw {
		err := s.store.Tx(ctx, func(tx *ent.Tx) error {
			return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
				Action: "catalog.PreviewRawPII", ResourceType: "port", Resource: dom + "/" + product + "/" + port, Domain: dom,
				After: map[string]any{"topic": op.Topic, "environment": src.Environment, "records": len(recs)},
			})
		})
		if err != nil {
			return PortPreview{}, fmt.Errorf("auditing a raw preview: %w", err)
		}
	}
	viewer := preview.Viewer{RawPII: raw, Hash: s.cfg.Pseudonym}
	out := PortPreview{Environment: src.Environment, Topic: op.Topic, RawPII: raw, Incomplete: incomplete, Records: make([]preview.Record, 0, len(recs))}
	for _, r := range recs {
		out.Records = append(out.Records, preview.Mask(r, op.Fields, viewer))
	}
	return out, nil
}
