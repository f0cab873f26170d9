package sandbox

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kfake serves SaslHandshake v1 only and advertises it as versions 1-1.
// Every real broker advertises 0-1, and librdkafka (kcat, the confluent-kafka
// clients) enables its SASL handshake only when version 0 is listed: against
// plain kfake it refuses to authenticate at all, although it would then speak
// v1. advertiseSASLHandshakeV0 answers ApiVersions with kfake's own answer,
// captured once, with SaslHandshake listed from version 0; kfake still
// handles every other request, and any ApiVersions request outside the plain
// case (an unsupported version, invalid client software fields, KIP-1242
// cluster checks) is left to kfake.
func advertiseSASLHandshakeV0(ctx context.Context, cluster *kfake.Cluster, cl *kgo.Client) error {
	req := kmsg.NewPtrApiVersionsRequest()
	req.ClientSoftwareName = "meshplane"
	req.ClientSoftwareVersion = "1"
	base, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("reading the sandbox broker's API versions: %w", err)
	}
	if err := kerr.ErrorForCode(base.ErrorCode); err != nil {
		return fmt.Errorf("reading the sandbox broker's API versions: %w", err)
	}
	keys := slices.Clone(base.ApiKeys)
	var maxApiVersions int16 = -1
	for i := range keys {
		switch keys[i].ApiKey {
		case int16(kmsg.SASLHandshake):
			keys[i].MinVersion = 0
		case int16(kmsg.ApiVersions):
			maxApiVersions = keys[i].MaxVersion
		}
	}

	// Control functions remember every connection they saw; re-registering
	// after a bounded number of requests lets the old record go.
	const rotateEvery = 512
	var calls atomic.Int64
	var control func(kmsg.Request) (kmsg.Response, error, bool)
	control = func(kr kmsg.Request) (kmsg.Response, error, bool) {
		r := kr.(*kmsg.ApiVersionsRequest)
		if calls.Add(1)%rotateEvery == 0 {
			cluster.DropControl()
			cluster.ControlKey(int16(kmsg.ApiVersions), control)
		} else {
			cluster.KeepControl()
		}
		if r.Version > maxApiVersions ||
			(r.Version >= 3 && (!validSoftwareField(r.ClientSoftwareName) || !validSoftwareField(r.ClientSoftwareVersion))) ||
			(r.Version >= 5 && (r.ClusterID != nil || r.NodeID != -1)) {
			return nil, nil, false
		}
		resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
		resp.ApiKeys = slices.Clone(keys)
		resp.SupportedFeatures = slices.Clone(base.SupportedFeatures)
		resp.FinalizedFeatures = slices.Clone(base.FinalizedFeatures)
		resp.FinalizedFeaturesEpoch = base.FinalizedFeaturesEpoch
		return resp, nil, true
	}
	cluster.ControlKey(int16(kmsg.ApiVersions), control)
	return nil
}

// validSoftwareField is the pattern a broker requires of ApiVersions v3+
// client software fields: [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?
func validSoftwareField(s string) bool {
	alnum := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	if s == "" || !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !alnum(c) && c != '-' && c != '.' {
			return false
		}
	}
	return true
}
