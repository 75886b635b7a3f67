# The two commands a new user runs: `make run` (rehearse the ceremony on a
# local sandbox) and `make test` (the whole suite, against real parts).
GO ?= go

.PHONY: all build run test deps vet bench perf

all: build

build:
	$(GO) build -o bin/dctwiz ./cmd/dctwiz

deps:
	scripts/install-deps.sh

# Rehearse the setup ceremony on a local test bed. (The wizard will run
# here once it is built; until then this is the headless ceremony.)
run: deps
	scripts/demo.sh

# The yubikey package runs after the others: it and cmd/dctwiz both drive
# virtual YubiKeys through the one pcscd, and must not overlap.
test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m $$($(GO) list ./... | grep -v '/yubikey$$')
	$(GO) test -count=1 -timeout 5m ./yubikey

bench:
	$(GO) test -run '^$$' -bench SetupCeremony -benchtime 20x ./flows

perf:
	scripts/perf-vs-notary.sh
