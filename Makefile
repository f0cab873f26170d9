# meshplane — common tasks. The README's two commands are `make run` and `make test`.
.PHONY: run test demo generate check-generated lint bench fuzz build tools portal

DATA_DIR ?= ./meshplane-data
ADDR ?= 127.0.0.1:8080

run:
	ADDR=$(ADDR) DATA_DIR=$(DATA_DIR) scripts/run.sh

test:
	scripts/test.sh

# The sandbox moving data: a throwaway PostgreSQL, a product with PII fields,
# a load generator, and rows arriving masked in the preview and a sink table.
demo:
	scripts/demo.sh

build: portal
	go build -tags portal -o bin/meshplane ./cmd/meshplane

portal:
	scripts/portal.sh build

tools:
	scripts/tools.sh

generate: tools
	.tools/bin/buf generate
	scripts/portal.sh generate
	go generate ./server/ent ./server/graph

check-generated:
	scripts/check-generated.sh

lint: tools
	.tools/bin/buf lint
	go vet ./...

bench:
	scripts/bench.sh

fuzz:
	go test ./server/spec -run '^$$' -fuzz FuzzValidateProduct -fuzztime 60s
	go test ./server/spec -run '^$$' -fuzz FuzzCheckName -fuzztime 30s
	go test ./server/rpc -run '^$$' -fuzz FuzzDecodeProductSpec -fuzztime 60s
