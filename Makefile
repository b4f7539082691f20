# The two commands a newcomer runs. Both install what they need first.
.PHONY: dev test fmt lint docker-image docker-devnet docker-test

dev:  ## run a dev node: L2 RPC on http://127.0.0.1:8545
	scripts/run-dev.sh

test: ## every test: Rust (nextest) and the web3.py wallet suite
	scripts/test.sh

fmt:
	cargo fmt --all

lint:
	cargo clippy --workspace --all-targets -- -D warnings

docker-image:  ## the tributary:local image, built without pulling (docker/build-image.sh)
	docker/build-image.sh

docker-devnet: ## L1 + sequencer + two followers in containers, waits until healthy
	docker/devnet.sh

docker-test:   ## end-to-end tests across the containers (tests/docker)
	docker/test.sh
