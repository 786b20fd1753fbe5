# The two commands of the README: `make run` (the workbench on the embedded
# synthetic dataset) and `make test` (the whole test suite). Both install
# missing Debian packages first.
SWIFT ?= swift

.PHONY: run test build bench docs notebooks

run:
	scripts/bootstrap
	$(SWIFT) build -c release --product cnx
	.build/release/cnx run examples/tour.cnx --echo --interactive

# The suite is XCTest; Swift Testing is switched off so the runner's last
# line is XCTest's summary, not "0 tests" from an empty Swift Testing run.
test:
	scripts/bootstrap
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing

build:
	scripts/bootstrap
	$(SWIFT) build -c release --product cnx

bench:
	scripts/bootstrap
	$(SWIFT) run -c release KernelBench

# Regenerates docs/commands.md from the command registry.
docs:
	$(SWIFT) build --product cnx
	.build/debug/cnx -c 'help --markdown' > docs/commands.md

# Regenerates examples/notebooks/*.ipynb from examples/*.cnx (ExampleNotebooksTests checks they are current).
notebooks:
	$(SWIFT) build --product cnx
	.build/debug/cnx kernel notebook examples/*.cnx --out examples/notebooks
