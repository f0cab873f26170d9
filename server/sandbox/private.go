package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/meshplane/meshplane/server/sandbox/internal/atomicfile"
)

// saslStateFile is where kfake persists its SASL users under the broker's
// data dir: for SCRAM users the salt, iteration count and salted password
// (the PBKDF2 key, never the password), and for PLAIN users the password
// itself, which is why the sandbox seeds no PLAIN user.
const saslStateFile = "sasl.json"

// restrictTree makes root and everything under it private to its owner:
// directories 0700 and regular files 0600. kfake creates its directories
// 0755 and its files 0644, and earlier sandboxes left them so. Symbolic
// links are left alone, so nothing outside root is touched. It returns the
// paths, relative to root, whose mode it changed.
func restrictTree(root string) ([]string, error) {
	var changed []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // the running broker replaced or removed it
				return nil
			}
			return err
		}
		var want fs.FileMode
		switch {
		case d.IsDir():
			want = 0o700
		case d.Type().IsRegular():
			want = 0o600
		default:
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if info.Mode().Perm() == want {
			return nil
		}
		if err := os.Chmod(path, want); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(root, path)
		changed = append(changed, rel)
		return nil
	})
	if err != nil {
		return changed, fmt.Errorf("restricting %s to its owner: %w", root, err)
	}
	return changed, nil
}

// dropPlainUsers removes the PLAIN user table from kfake's persisted SASL
// state at path, with any temporary copy kfake left beside it. Sandboxes
// before this one seeded the admin as a PLAIN user too, and kfake keeps PLAIN
// passwords in clear text; it reports whether a table was removed.
func dropPlainUsers(path string) (bool, error) {
	if err := os.Remove(path + ".tmp"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("removing %s.tmp: %w", path, err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	// Only the "plain" member is dropped; the rest is kept as kfake wrote it.
	var state map[string]json.RawMessage
	if err := json.Unmarshal(data, &state); err != nil {
		return false, fmt.Errorf("decoding %s: %w", path, err)
	}
	if _, ok := state["plain"]; !ok {
		return false, nil
	}
	delete(state, "plain")
	out, err := json.Marshal(state)
	if err != nil {
		return false, fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := atomicfile.Write(path, out, 0o600); err != nil {
		return false, fmt.Errorf("rewriting %s without PLAIN users: %w", path, err)
	}
	return true, nil
}

// saslStateGuard sets the broker's SASL state file back to 0600 after each
// AlterUserSCRAMCredentials request a client built from ClientOptions sends:
// kfake rewrites the file with mode 0644 whenever SCRAM users change, and
// meshplane makes those changes through these clients. The hook runs before
// the client returns the response, and kfake writes the file before it
// answers, so the file is private again by the time the caller sees the
// result. Changes made by other clients are restricted on Close and Start;
// meanwhile the 0700 directories keep the file private.
type saslStateGuard struct {
	path string
	log  *slog.Logger
}

var _ kgo.HookBrokerE2E = saslStateGuard{}

func (g saslStateGuard) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, _ kgo.BrokerE2E) {
	if key != int16(kmsg.AlterUserSCRAMCredentials) {
		return
	}
	if err := os.Chmod(g.path, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
		g.log.Warn("restricting the sandbox broker's SASL state", "path", g.path, "err", err)
	}
}
