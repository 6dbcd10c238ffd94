# webusage — the two commands a new user needs are `make run` and `make test`.
GO      ?= go
BIN     := bin/webusage
DATA    ?= ./data
ADDR    ?= 127.0.0.1:8080

.PHONY: all build run test test-go test-extension bench fuzz soak geodb extension lint clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/webusage

# run: the main job on its embedded default (SQLite under ./data, the default
# geolocation database when it can be fetched; the server starts without it).
run: build
	-@$(MAKE) --no-print-directory geodb
	./$(BIN) serve --addr $(ADDR) --data $(DATA)

# test: every test, Go (with the race detector) and the extension's.
test: extension test-go test-extension

test-go:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

test-extension:
	cd extension && npm test

extension:
	cd extension && (test -d node_modules || npm ci --no-audit --no-fund) && npm run build

geodb:
	./scripts/geodb.sh $(DATA)/geo

bench: build
	./scripts/bench.sh

fuzz:
	./scripts/fuzz.sh

soak: build
	./scripts/soak.sh

lint:
	gofmt -l . | tee /dev/stderr | (! read)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

clean:
	rm -rf bin extension/dist
