package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshplane/meshplane/server/app"
)

// TestLoadEnvironments: the environments file is read strictly, passwords
// come from the variables and files it names, and every mistake is refused
// with the environment it concerns.
func TestLoadEnvironments(t *testing.T) {
	envs, err := app.LoadEnvironments(filepath.Join("..", "..", "examples", "environments.yaml"))
	if err != nil {
		t.Fatalf("the example: %v", err)
	}
	if len(envs) != 2 || envs[0].Name != "dev" || envs[1].SandboxBrokers != 3 || envs[1].PromoteFrom[0] != "dev" ||
		envs[1].Parameters["maxRetentionMs"] != float64(604800000) || envs[1].Parameters["rawPII"] != false {
		t.Fatalf("the example = %+v", envs)
	}

	dir := t.TempDir()
	pwFile := filepath.Join(dir, "connect.pw")
	if err := os.WriteFile(pwFile, []byte("c0nnect\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROD_KAFKA_PW", "k4fka")
	write := func(body string) string {
		p := filepath.Join(dir, "envs.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	envs, err = app.LoadEnvironments(write(`environments:
  - name: prod
    kafka: {bootstrap: ["b1:9096"], saslMechanism: scram-sha512, username: mp, passwordEnv: PROD_KAFKA_PW, tls: true}
    connect: {url: "https://connect:8083", username: mp, passwordFile: ` + pwFile + `}
`))
	if err != nil {
		t.Fatal(err)
	}
	if dp := envs[0].DataPlane; dp.KafkaPassword != "k4fka" || dp.ConnectPassword != "c0nnect" || !dp.KafkaTLS || dp.ConnectURL != "https://connect:8083" {
		t.Fatalf("data plane = %+v", dp)
	}
	for body, want := range map[string]string{
		"environments: []\n": "names no environments",
		"environments:\n  - name: dev\n    colour: blue\n":                                                                                                                              "colour",
		"environments:\n  - name: dev\n    sandbox: {}\n    kafka: {bootstrap: [\"b:1\"]}\n    connect: {url: http://c}\n":                                                              "environment dev: give either kafka",
		"environments:\n  - name: prod\n    kafka: {bootstrap: [\"b:1\"]}\n":                                                                                                            "environment prod: kafka.bootstrap and connect.url are required",
		"environments:\n  - name: prod\n    kafka: {bootstrap: [\"b:1\"], passwordEnv: NOT_SET_ANYWHERE_42}\n    connect: {url: http://c}\n":                                            "password variable NOT_SET_ANYWHERE_42 is not set",
		"environments:\n  - name: prod\n    kafka: {bootstrap: [\"b:1\"], passwordEnv: A, passwordFile: /x}\n    connect: {url: http://c}\n":                                            "both passwordEnv and passwordFile",
		"environments:\n  - name: dev\n  - name: dev\n    foo: 1\n":                                                                                                                     "foo",
		"environments:\n  - name: dev\n  - name: dev\n":                                                                                                                                 `environments[1].name: environment "dev" is named twice`,
		"environments:\n  - name: ../x\n":                                                                                                                                               "environments[0].name",
		"environments:\n  - name: dev\n    promoteFrom: [prod]\n  - name: prod\n    promoteFrom: [dev]\n":                                                                               "promotion must go one way",
		"environments:\n  - name: prod\n    promoteFrom: [staging]\n":                                                                                                                   `environments[0].promoteFrom: "staging" is not another configured environment`,
		"environments:\n  - name: prod\n    parameters: {protected: \"true\"}\n":                                                                                                        "environments[0].parameters.protected: must be true or false",
		"environments:\n  - name: prod\n    parameters: {maxRetentionMs: 1.5}\n":                                                                                                        "environments[0].parameters.maxRetentionMs: must be a whole number",
		"environments:\n  - name: prod\n    parameters: {allowedSinkKinds: [s3, ftp]}\n":                                                                                                "ftp is not a sink kind",
		"environments:\n  - name: a1\n    kafka: {bootstrap: [\"b:1\"]}\n    connect: {url: http://c}\n  - name: a2\n    kafka: {bootstrap: [\"b:1\"]}\n    connect: {url: http://d}\n": "shares b:1 with environment a1",
	} {
		if _, err := app.LoadEnvironments(write(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadEnvironments(%q) = %v, want an error naming %q", body, err, want)
		}
	}
}
