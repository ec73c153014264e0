# vidgen's whole setup: `make run` runs it locally, `make test` checks it.
# Everything else a target needs is installed by the target itself.

SHELL         := /bin/bash
GO            ?= go
FUNCTIONS     := api submit poll fail reconcile
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BUILD_DIR     := build
LAMBDA_FLAGS  := -tags lambda.norpc -trimpath -ldflags "-s -w"
GOTEST_FLAGS  ?= -race -count=1
FUZZTIME      ?= 30s

.PHONY: run test test-go lint build bench fuzz deploy clean tools

## run: the API, state machines, store and upstream simulator on VIDGEN_ADDR
run:
	$(GO) run ./cmd/vidgen-local

## test: lint, then every Go test under -race with a real DynamoDB API (moto)
test: lint test-go

test-go:
	scripts/with-moto.sh $(GO) test $(GOTEST_FLAGS) ./...

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
	  printf '%-8s bootstrap %8d bytes  zip %8d bytes\n' $$fn $$(stat -c %s $(BUILD_DIR)/$$fn/bootstrap) $$(stat -c %s $(BUILD_DIR)/$$fn.zip); \
	done

# sam build (BuildMethod: makefile) calls build-<LogicalId> with ARTIFACTS_DIR.
build-ApiFunction build-SubmitFunction build-PollFunction build-FailFunction build-ReconcileFunction:
	$(eval fn := $(shell echo $(@:build-%Function=%) | tr A-Z a-z))
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(fn)

## bench: Go benchmarks with allocation figures
bench:
	scripts/with-moto.sh $(GO) test -run '^$$' -bench . -benchmem ./...

## fuzz: each fuzz target for FUZZTIME
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## deploy: sam build and sam deploy (needs the AWS SAM CLI and AWS credentials)
deploy:
	sam build
	sam deploy

clean:
	rm -rf $(BUILD_DIR) .aws-sam
