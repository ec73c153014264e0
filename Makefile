# vidgen's whole setup: `make run` runs it locally, `make test` checks it.
# Everything else a target needs is installed by the target itself.

SHELL         := /bin/bash
GO            ?= go
FUNCTIONS     := api authorizer submit poll fail reconcile register finish webhook summarize
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BUILD_DIR     := build
# lambda.norpc: no go1.x RPC server; nethttpomithttp2: net/http without its
# bundled HTTP/2, which no function uses (AWS's endpoints and the upstream
# speak HTTP/1.1; API Gateway serves the api), 330 KB of each binary and its
# initialisers (functions/coldstart_test.go, TestBootstrapsOmitHTTP2).
LAMBDA_FLAGS  := -tags lambda.norpc,nethttpomithttp2 -trimpath -ldflags "-s -w"
GOTEST_FLAGS  ?= -race -count=1
FUZZTIME      ?= 30s
FUZZ_SMOKE    ?= 100000x

.PHONY: run test test-go test-scale fuzz-smoke lint build bench fuzz deploy clean chromium

## run: the API, web console, state machines, store and upstream simulator on VIDGEN_ADDR
# Built, then run in place of the shell: `go run` exits 1 when interrupted,
# which made Ctrl-C end in "make: *** Error 1"; the runtime itself exits 0.
run:
	@$(GO) build -o bin/vidgen-local ./cmd/vidgen-local
	@exec bin/vidgen-local

## test: lint, every Go test under -race with a real AWS API (moto), the batch at full scale, each fuzz target briefly
test: lint test-go test-scale fuzz-smoke

test-go: bin/aws-lambda-rie chromium
	scripts/with-moto.sh $(GO) test $(GOTEST_FLAGS) ./...

# A batch of 10,000 items through the real state machines: without the race
# detector, which slows it tenfold (test-go runs a tenth of it under -race).
test-scale:
	$(GO) test -count=1 -run '^TestBatchAtScale$$' ./internal/local

## chromium: Debian's chromium, which the console's browser test drives (installed only when absent)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
chromium:
	@command -v chromium >/dev/null 2>&1 || [ -n "$$VIDGEN_CHROMIUM" ] || { \
	  echo "installing Debian's chromium for the console's browser test"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# The Lambda runtime interface emulator the functions' tests run each
# bootstrap under (functions/emulator_test.go finds it here).
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
bin/aws-lambda-rie:
	GOBIN=$(CURDIR)/bin GOFLAGS= CGO_ENABLED=0 $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

## lint: gofmt, go vet, staticcheck, cfn-lint and asl-validator
lint: node_modules/.package-lock.json
	@unformatted=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cfn-lint template.yaml
	npx --no-install asl-validator $(addprefix --json-path ,$(wildcard statemachine/*.asl.json))

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

## build: every function as a static linux/arm64 bootstrap, zipped
build:
	@set -e; for fn in $(FUNCTIONS); do \
	  mkdir -p $(BUILD_DIR)/$$fn; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o $(BUILD_DIR)/$$fn/bootstrap ./functions/$$fn; \
	  rm -f $(BUILD_DIR)/$$fn.zip; \
	  (cd $(BUILD_DIR)/$$fn && python3 -m zipfile -c ../$$fn.zip bootstrap); \
	  printf '%-10s bootstrap %8d bytes  zip %8d bytes\n' $$fn $$(stat -c %s $(BUILD_DIR)/$$fn/bootstrap) $$(stat -c %s $(BUILD_DIR)/$$fn.zip); \
	done

# sam build (BuildMethod: makefile) calls build-<LogicalId> with ARTIFACTS_DIR.
build-ApiFunction build-AuthorizerFunction build-SubmitFunction build-PollFunction build-FailFunction build-ReconcileFunction build-RegisterFunction build-FinishFunction build-WebhookFunction build-SummarizeFunction:
	$(eval fn := $(shell echo $(@:build-%Function=%) | tr A-Z a-z))
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(fn)

## bench: cost and detection lag per poll policy and bursts (cmd/vidgen-bench), each function's zipped size (make build), then Go benchmarks (docs/performance.md)
# Every figure is printed in one run: the Go benchmarks run even when a
# vidgen-bench target is not met, and make fails at the end if any target,
# vidgen-bench's or a Go benchmark's ("target: …: not met"), was not.
# Only packages with benchmarks are built: -bench over ./... would link every
# package's test binary to run none.
bench: build bin/aws-lambda-rie
	@status=0; out=$$(mktemp); trap 'rm -f "$$out"' EXIT; set -o pipefail; \
	$(GO) run ./cmd/vidgen-bench || status=$$?; \
	scripts/with-moto.sh $(GO) test -run '^$$' -bench . -benchmem $$($(bench_pkgs)) | tee "$$out" || status=$$?; \
	if [ $$status = 0 ] && grep -q '^target: .*: not met$$' "$$out"; then \
	  echo 'make bench: a Go benchmark target above is not met' >&2; status=2; fi; \
	exit $$status

# bench_pkgs lists the packages whose tests have Benchmark functions.
bench_pkgs = git ls-files -co --exclude-standard '*_test.go' | xargs grep -l '^func Benchmark' | xargs -n1 dirname | sort -u | sed 's|^|./|'

# fuzz_targets lists "package target" pairs from the Fuzz functions in tests.
fuzz_targets = for file in $$(git ls-files -co --exclude-standard '*_test.go' | xargs grep -l '^func Fuzz' | sort); do \
	  for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do echo "./$$(dirname $$file) $$target"; done; \
	done

## fuzz-smoke: each fuzz target for FUZZ_SMOKE (part of make test)
fuzz-smoke:
	@set -e; $(fuzz_targets) | while read -r pkg target; do \
	  echo "fuzz $$pkg $$target for $(FUZZ_SMOKE)"; \
	  $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZ_SMOKE) -fuzzminimizetime 1s $$pkg; \
	done

## fuzz: each fuzz target for FUZZTIME
fuzz:
	@set -e; $(fuzz_targets) | while read -r pkg target; do \
	  $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s $$pkg; \
	done

## deploy: sam build and sam deploy of the config env SAM_ENV (dev, prod: samconfig.toml, one stack each; needs the AWS SAM CLI and AWS credentials)
SAM_ENV ?= dev
deploy:
	sam build --config-env $(SAM_ENV)
	sam deploy --config-env $(SAM_ENV)

clean:
	rm -rf $(BUILD_DIR) .aws-sam
