package sandbox

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/meshplane/meshplane/server/sandbox/internal/atomicfile"
)

// listenersFile records the addresses the sandbox last listened on. With a
// configured port of 0, a restart tries those ports again first, so bootstrap
// servers and the Connect URL stay put (clients' settings and rendered
// Terraform keep working) unless the port was taken meanwhile.
const listenersFile = "listeners.json"

type listenerRecord struct {
	Kafka   []string `json:"kafka"`
	Connect string   `json:"connect"`
}

func readListeners(path string) listenerRecord {
	var rec listenerRecord
	if data, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(data, &rec) // a damaged record only costs new ports
	}
	return rec
}

func writeListeners(path string, rec listenerRecord) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding listener addresses: %w", err)
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("saving listener addresses: %w", err)
	}
	return nil
}

// listen listens on configured (host:port) shifted by offset ports when its
// port is explicit. With port 0 it first tries previous, when that address
// is on the configured host, and otherwise lets the system pick.
func listen(configured string, offset int, previous string) (net.Listener, error) {
	host, portStr, err := net.SplitHostPort(configured)
	if err != nil {
		return nil, err
	}
	port, _ := strconv.Atoi(portStr)
	if port != 0 {
		return net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port+offset)))
	}
	if prevHost, prevPort, err := net.SplitHostPort(previous); err == nil && prevHost == host && prevPort != "0" {
		if ln, err := net.Listen("tcp", previous); err == nil {
			return ln, nil
		}
	}
	return net.Listen("tcp", net.JoinHostPort(host, "0"))
}
