package connectrun

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Config-provider references resolve like a worker's, and never reach
// meshplane's own data directory or environment.
func TestProvidersStayAwayFromMeshplaneSecrets(t *testing.T) {
	data, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(data, "sandbox", "credentials")
	if err := os.MkdirAll(filepath.Dir(secret), 0o700); err != nil {
		t.Fatal(err)
	}
	for path, body := range map[string]string{secret: "sasl.password=admin-secret\n", filepath.Join(outside, "db.properties"): "# db\npassword = s3cret\nuser: dbz\n"} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(outside, "sneaky.properties")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SALES__DB_PASSWORD", "from-env")
	t.Setenv("MESHPLANE_DATABASE_URL", "postgres://catalog-secret@x/y")
	limits := providerLimits{deniedDirs: []string{data}}

	got, err := resolveProviders(map[string]string{
		"a": "${file:" + filepath.Join(outside, "db.properties") + ":password}",
		"b": "${env:SALES__DB_PASSWORD}",
		"c": "user=${file:" + filepath.Join(outside, "db.properties") + ":user};",
		"d": "plain",
	}, limits)
	if err != nil || got["a"] != "s3cret" || got["b"] != "from-env" || got["c"] != "user=dbz;" || got["d"] != "plain" {
		t.Fatalf("resolved %v, %v", got, err)
	}
	for ref, want := range map[string]string{
		"${file:" + secret + ":sasl.password}": "meshplane's data directory",
		"${file:" + link + ":sasl.password}":   "meshplane's data directory",
		"${file:" + filepath.Join(data, "..", filepath.Base(data), "sandbox", "credentials") + ":sasl.password}": "meshplane's data directory",
		"${env:MESHPLANE_DATABASE_URL}": "meshplane's own",
		"${env:NOT_SET_ANYWHERE}":       "is not set",
		"${vault:secret/db:password}":   `config provider "vault" is not available`,
	} {
		_, err := resolveProviders(map[string]string{"database.password": ref}, limits)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", ref, err, want)
		}
		if err != nil && (strings.Contains(err.Error(), "admin-secret") || strings.Contains(err.Error(), "catalog-secret")) {
			t.Errorf("%s: the error holds the secret: %v", ref, err)
		}
	}
}
