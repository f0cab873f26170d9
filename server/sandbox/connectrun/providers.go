package connectrun

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// providerRef matches a config-provider reference inside a value:
// ${provider:key} or ${provider:path:key}, as Kafka's ConfigTransformer reads them.
var providerRef = regexp.MustCompile(`\$\{([^}:]*?):(?:([^}]*?):)?([^}]*?)\}`)

// providerLimits keep config providers away from meshplane's own secrets,
// as a worker's allowed.paths and allowlist.pattern would.
type providerLimits struct {
	// deniedDirs are directories no file reference may read from.
	deniedDirs []string
}

// deniedEnvPrefix names the environment variables no reference may read:
// meshplane's own settings.
const deniedEnvPrefix = "MESHPLANE_"

// allowedFile reports whether path lies outside every denied directory,
// symbolic links followed.
func (l providerLimits) allowedFile(path string) bool {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		real = path
	}
	real, _ = filepath.Abs(real)
	for _, d := range l.deniedDirs {
		dd, err := filepath.EvalSymlinks(d)
		if err != nil {
			dd = d
		}
		dd, _ = filepath.Abs(dd)
		if rel, err := filepath.Rel(dd, real); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return false
		}
	}
	return true
}

// resolveProviders resolves the env and file config providers a worker in
// the sandbox has, refusing any other provider by name. Errors name the
// setting and the provider, never a resolved value.
func resolveProviders(config map[string]string, limits providerLimits) (map[string]string, error) {
	out := make(map[string]string, len(config))
	files := map[string]map[string]string{}
	for k, v := range config {
		var err error
		out[k] = providerRef.ReplaceAllStringFunc(v, func(ref string) string {
			m := providerRef.FindStringSubmatch(ref)
			provider, path, key := m[1], m[2], m[3]
			switch provider {
			case "env":
				if strings.HasPrefix(key, deniedEnvPrefix) {
					err = fmt.Errorf("setting %s: environment variable %s is meshplane's own and not for connectors", k, key)
					return ""
				}
				val, ok := os.LookupEnv(key)
				if !ok {
					err = fmt.Errorf("setting %s: environment variable %s is not set in the sandbox's environment", k, key)
				}
				return val
			case "file":
				if !limits.allowedFile(path) {
					err = fmt.Errorf("setting %s: %s is in meshplane's data directory, which connectors may not read", k, path)
					return ""
				}
				props, ok := files[path]
				if !ok {
					var rerr error
					props, rerr = readProperties(path)
					if rerr != nil {
						err = fmt.Errorf("setting %s: %w", k, rerr)
						return ""
					}
					files[path] = props
				}
				val, ok := props[key]
				if !ok {
					err = fmt.Errorf("setting %s: key %s is not in %s", k, key, path)
				}
				return val
			default:
				err = fmt.Errorf("setting %s: config provider %q is not available in the sandbox (env and file are)", k, provider)
				return ""
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readProperties reads a Java properties file the way FileConfigProvider
// does, for the common forms: key=value or key: value, # and ! comments.
func readProperties(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the properties file: %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			out[line] = ""
			continue
		}
		out[strings.TrimSpace(line[:i])] = strings.TrimSpace(line[i+1:])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the properties file: %w", err)
	}
	return out, nil
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:4])
}
