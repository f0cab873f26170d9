# meshplane — common tasks. The README's two commands are `make run` and `make test`.
.PHONY: run test generate check-generated lint bench fuzz build tools

DATA_DIR ?= ./meshplane-data
ADDR ?= 127.0.0.1:8080

run: tools
	go run ./cmd/meshplane serve --addr $(ADDR) --data-dir $(DATA_DIR) --tools-dir .tools

test:
	scripts/test.sh

build:
	go build -o bin/meshplane ./cmd/meshplane

tools:
	scripts/tools.sh

generate: tools
	.tools/bin/buf generate
	go generate ./server/ent ./server/graph

check-generated:
	scripts/check-generated.sh

lint: tools
	.tools/bin/buf lint
	go vet ./...

bench:
	go run ./cmd/meshplane-bench

fuzz:
	go test ./server/spec -run '^$$' -fuzz FuzzValidateProduct -fuzztime 60s
	go test ./server/spec -run '^$$' -fuzz FuzzCheckName -fuzztime 30s
	go test ./server/rpc -run '^$$' -fuzz FuzzDecodeProductSpec -fuzztime 60s
