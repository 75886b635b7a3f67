# The two commands a new user runs: `make run` (rehearse the ceremony on a
# local sandbox) and `make test` (the whole suite, against real parts).
GO ?= go

.PHONY: all build run demo test deps vet bench perf fuzz

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
	$(MAKE) --no-print-directory fuzz FUZZTIME=10000x FUZZTIME_SLOW=500x

# Every fuzz target in turn (Go runs one at a time): the parsers of what
# users and files hand dctwiz, and the virtual card's APDU and TLV
# parsing. make fuzz runs each for FUZZTIME. make test runs each for a
# number of inputs, not a time: with Go 1.26 a time budget can end in a
# spurious "context deadline exceeded" when the fuzz coordinator's
# deadline races a busy worker (go.dev/issue/75804, fixed in Go 1.27);
# a count has no deadline. FuzzRootKeyFile decrypts keys (PBKDF2), so it
# gets fewer. What a run finds is kept in the package's testdata/fuzz
# and rerun by go test.
FUZZTIME ?= 2m
FUZZTIME_SLOW ?= $(FUZZTIME)
FUZZ_TRUST = FuzzParseGUN FuzzParseGUNTag FuzzValidSignerName FuzzParseRepoList FuzzParseCertificate FuzzRootCertIDs
FUZZ_TRUST_SLOW = FuzzRootKeyFile
FUZZ_CARD = FuzzTransmit FuzzParseTLVs
fuzz:
	@for f in $(FUZZ_TRUST); do echo "fuzz $$f ($(FUZZTIME))"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./trust || exit 1; done
	@for f in $(FUZZ_TRUST_SLOW); do echo "fuzz $$f ($(FUZZTIME_SLOW))"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME_SLOW) ./trust || exit 1; done
	@for f in $(FUZZ_CARD); do echo "fuzz $$f ($(FUZZTIME))"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./yubikey/virtual || exit 1; done

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
