.PHONY: run test
run:  ## Start web + worker + beat + fake Paystack with demo data (embedded defaults)
	scripts/run
test:  ## Run the whole test suite
	scripts/test $(PYTEST_ARGS)
