# The two commands a new user runs: `make run` (rehearse the ceremony on a
# local sandbox) and `make test` (the whole suite, against real parts).
GO ?= go

.PHONY: all build run demo test deps vet bench perf

all: build

# dctwiz, and the helper that runs the sandbox's servers and virtual
# YubiKey (kept out of dctwiz so that it links no server code).
build:
	$(GO) build -o bin/dctwiz ./cmd/dctwiz
	$(GO) build -o bin/dctwiz-testbed ./internal/testbed/cmd/dctwiz-testbed

deps:
	scripts/install-deps.sh

# Rehearse the setup ceremony in the wizard on a local sandbox: a notary
# server, a registry with a sample image and a factory-fresh virtual
# YubiKey, all removed when the wizard ends.
run: deps build
	bin/dctwiz sandbox

# The same ceremony headless, as a script runs it.
demo: deps
	scripts/demo.sh

# The yubikey package runs after the others: it and cmd/dctwiz both drive
# virtual YubiKeys through the one pcscd, and must not overlap. The wizard
# and the ceremony it drives run goroutines on shared state: their tests
# run with the race detector.
test: deps
	@files=$$(gofmt -l .); if [ -n "$$files" ]; then echo "gofmt: these files need formatting:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff
	GOOS=windows $(GO) build -o /dev/null ./cmd/dctwiz
	$(GO) test -count=1 -timeout 15m $$($(GO) list ./... | grep -v -e '/yubikey$$' -e '/ui$$' -e '/flows$$')
	$(GO) test -count=1 -race -timeout 5m ./ui ./flows
	$(GO) test -count=1 -timeout 5m ./yubikey

bench:
	$(GO) test -run '^$$' -bench SetupCeremony -benchtime 20x ./flows
	$(GO) test -run '^$$' -bench SetupBatch -benchtime 5x ./cmd/dctwiz

# One repository against the notary CLI; the HTTP requests one setup
# makes (the benchmark's requests/op); then the fleet: a batch of 60
# setups against 60 notary CLI sequences, and check over 100 and 1000
# repositories (time, peak memory).
perf:
	scripts/perf-vs-notary.sh
	$(GO) test -run '^$$' -bench SetupCeremony -benchtime 20x ./flows | grep '^Benchmark'
	scripts/perf-fleet.sh
