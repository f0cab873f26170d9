package connectemu

// Plugin describes a connector class the emulator accepts.
type Plugin struct {
	Class   string `json:"class"`
	Type    string `json:"type"`
	Version string `json:"version"`
}

// Plugins lists the connector classes the emulator accepts, with the plugin
// versions whose rules it enforces.
func Plugins() []Plugin {
	out := make([]Plugin, len(plugins))
	for i, p := range plugins {
		out[i] = Plugin{Class: p.class, Type: p.kind, Version: p.version}
	}
	return out
}

// WorkerVersion is the Kafka Connect version the emulator reports.
const WorkerVersion = workerVersion
