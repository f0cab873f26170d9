// Package contracts converts data products to and from the Bitol open
// standards: a product as an Open Data Product Standard (ODPS v1.0.0)
// document, and each major of each output port as an Open Data Contract
// Standard (ODCS v3.1.0) data contract. Every document written is
// validated against the standard's vendored JSON Schema. What meshplane
// models and the standards do not (the CDC source, sinks, labels, topic
// settings) travels in customProperties named meshplane…, so a round trip
// loses nothing; what a standard holds and meshplane does not model is
// reported on import, never dropped silently.
package contracts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/meshplane/meshplane/api/standards"
)

// Versions of the standards written.
const (
	ODPSVersion = "v1.0.0"
	ODCSVersion = "v3.1.0"
)

// Custom properties meshplane writes and reads back.
const (
	propSource        = "meshplaneSource"
	propSinks         = "meshplaneSinks"
	propLabels        = "meshplaneLabels"
	propOwner         = "meshplaneOwner"
	propPartitions    = "meshplanePartitions"
	propRetentionMs   = "meshplaneRetentionMs"
	propCleanupPolicy = "meshplaneCleanupPolicy"
	propTable         = "meshplaneTable"
	propPort          = "meshplanePort"
)

// CustomProperty is a key/value pair, as both standards write them.
type CustomProperty struct {
	Property string `json:"property" yaml:"property"`
	Value    any    `json:"value" yaml:"value"`
}

var (
	compileOnce sync.Once
	schemas     map[string]*jsonschema.Schema
	compileErr  error
)

// validate checks doc against the vendored schema of standard ("odcs" or "odps").
func validate(standard string, doc any) error {
	compileOnce.Do(func() {
		schemas = map[string]*jsonschema.Schema{}
		c := jsonschema.NewCompiler()
		for name, text := range map[string][]byte{"odcs": standards.ODCS, "odps": standards.ODPS} {
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(text))
			if err != nil {
				compileErr = err
				return
			}
			if err := c.AddResource(name+".json", v); err != nil {
				compileErr = err
				return
			}
		}
		for _, name := range []string{"odcs", "odps"} {
			s, err := c.Compile(name + ".json")
			if err != nil {
				compileErr = err
				return
			}
			schemas[name] = s
		}
	})
	if compileErr != nil {
		return fmt.Errorf("compiling the vendored schemas: %w", compileErr)
	}
	// Validate the document as JSON reads it back.
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if err := schemas[standard].Validate(v); err != nil {
		return fmt.Errorf("the %s document does not validate against the vendored schema: %w", standard, err)
	}
	return nil
}

// custom returns the value of property name among props, decoded into out;
// it reports whether the property was there.
func custom(props []CustomProperty, name string, out any) (bool, error) {
	for _, p := range props {
		if p.Property != name {
			continue
		}
		b, err := json.Marshal(p.Value)
		if err != nil {
			return true, err
		}
		if err := json.Unmarshal(b, out); err != nil {
			return true, fmt.Errorf("customProperties %s: %w", name, err)
		}
		return true, nil
	}
	return false, nil
}
