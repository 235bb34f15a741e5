# NeoCuma Guardian appliance. `make up` runs the appliance: the demo, with its own central
# server, when there is no .env; a centre's production stack when .env says
# NEOCUMA_DEPLOYMENT=production (config/production.env.example). `make test` passes every
# test tier. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# What .env says, read here so every target honours it (compose reads .env by itself).
dotenv = $(shell [ -r .env ] && sed -n 's/^$(1)=//p' .env | tail -n 1)
DEPLOYMENT := $(or $(call dotenv,NEOCUMA_DEPLOYMENT),demo)
export COMPOSE_PROJECT_NAME ?= $(or $(call dotenv,COMPOSE_PROJECT_NAME),neocuma)
export BASE_IMAGE ?= $(or $(call dotenv,BASE_IMAGE),neocuma/base:bookworm)
# Images are tagged with the project's version (appliance/__init__.py). A NEOCUMA_VERSION in
# .env pins the images the stack runs (docs/upgrade.md, "Going back"): make then runs that
# version's images as they are and never builds them from this tree.
TREE_VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"$$/\1/p' appliance/__init__.py)
DOTENV_VERSION := $(call dotenv,NEOCUMA_VERSION)
export NEOCUMA_VERSION ?= $(or $(DOTENV_VERSION),$(TREE_VERSION))
PINNED_ELSEWHERE := $(and $(DOTENV_VERSION),$(filter $(DOTENV_VERSION),$(NEOCUMA_VERSION)),$(filter-out $(TREE_VERSION),$(DOTENV_VERSION)))
# Images build with the classic builder: no BuildKit or buildx is assumed (docs/architecture.md).
export DOCKER_BUILDKIT ?= 0
export COMPOSE_DOCKER_CLI_BUILD ?= 0

# A centre's own docker-compose.override.yml, when there is one, comes last, as plain
# `docker compose` reads it (docs/configuration.md, "A centre's own compose file").
OVERRIDE := $(if $(wildcard docker-compose.override.yml),-f docker-compose.override.yml)
ifeq ($(DEPLOYMENT),production)
COMPOSE := ./scripts/compose.sh -p $(COMPOSE_PROJECT_NAME) -f docker-compose.yml $(OVERRIDE)
else ifeq ($(DEPLOYMENT),demo)
COMPOSE := ./scripts/compose.sh -p $(COMPOSE_PROJECT_NAME) -f docker-compose.yml -f docker-compose.demo.yml $(OVERRIDE)
# The demo's LAN address (the gateway) is on 8081, not a production host's 80.
export NEOCUMA_LAN_PORT ?= $(or $(call dotenv,NEOCUMA_LAN_PORT),8081)
else
$(error NEOCUMA_DEPLOYMENT in .env must be demo or production, not "$(DEPLOYMENT)")
endif
DEMO_ONLY = @if [ "$(DEPLOYMENT)" != demo ]; then echo "make $@: this host's .env says NEOCUMA_DEPLOYMENT=production; the demo does not run here (remove that line, or work in another clone, to try the demo)" >&2; exit 2; fi
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST_CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
DOSSIERS ?= 20
YEARS ?= 3
SEED ?= 1

DOSSIER ?=
BACKUP ?=
# -T when standard input is not a terminal, so passwords can be piped in.
GUARDIAN = $(COMPOSE) exec $(if $(shell [ -t 0 ] && echo tty),,-T) guardian neocuma-guardian

.PHONY: help lock prereqs prereqs-up up demo down logs seed test login backup backups sync run status check pull restore fallback standby return dossiers offsite-password test-images test-unit test-fuzz fuzz test-integration test-e2e lint docs images base certs venv clean-test

help: ## this list
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z0-9-]*:.*## / {printf "make %-17s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

prereqs-up: ## install the host packages make up needs when they are missing (debootstrap)
	@./scripts/prerequisites.sh up

prereqs: ## install the host packages the tests need when they are missing (apt, through sudo)
	@./scripts/prerequisites.sh test

base: prereqs-up ## build the base image neocuma/base:bookworm (from Debian packages when no registry answers)
	./scripts/build-base-image.sh

# The host's CA bundle goes into the build context, so pip works behind a TLS-inspecting proxy.
certs: ## copy the host's CA bundle into docker/certs/ (pip behind a TLS-inspecting proxy)
	@if [ -r "$(HOST_CA_BUNDLE)" ] && ! cmp -s "$(HOST_CA_BUNDLE)" docker/certs/host-ca-bundle.crt; then \
		cp "$(HOST_CA_BUNDLE)" docker/certs/host-ca-bundle.crt; echo "copied $(HOST_CA_BUNDLE) into docker/certs/"; fi

images: base certs ## build the mysql, appliance, docker-proxy and gateway images
ifneq ($(PINNED_ELSEWHERE),)
	@for name in mysql appliance docker-proxy gateway; do docker image inspect neocuma/$$name:$(NEOCUMA_VERSION) >/dev/null 2>&1 || { \
		echo "make: .env pins NEOCUMA_VERSION=$(NEOCUMA_VERSION) but neocuma/$$name:$(NEOCUMA_VERSION) is not on this host, and this tree is $(TREE_VERSION): put that version's tree back, or remove the line from .env (docs/upgrade.md)" >&2; exit 2; }; done
	@echo "make: .env pins NEOCUMA_VERSION=$(NEOCUMA_VERSION) (this tree is $(TREE_VERSION)): its images are used as they are, none is rebuilt"
else
	docker build -q -f docker/mysql/Dockerfile --build-arg BASE_IMAGE=$(BASE_IMAGE) --build-arg NEOCUMA_VERSION=$(NEOCUMA_VERSION) --build-arg NEOCUMA_REVISION=$$(git rev-parse HEAD 2>/dev/null || echo unknown) -t neocuma/mysql:$(NEOCUMA_VERSION) .
	docker build -q -f Dockerfile --build-arg BASE_IMAGE=$(BASE_IMAGE) --build-arg NEOCUMA_VERSION=$(NEOCUMA_VERSION) --build-arg NEOCUMA_REVISION=$$(git rev-parse HEAD 2>/dev/null || echo unknown) -t neocuma/appliance:$(NEOCUMA_VERSION) .
	docker build -q -f docker/docker-proxy/Dockerfile --build-arg BASE_IMAGE=$(BASE_IMAGE) --build-arg NEOCUMA_VERSION=$(NEOCUMA_VERSION) --build-arg NEOCUMA_REVISION=$$(git rev-parse HEAD 2>/dev/null || echo unknown) -t neocuma/docker-proxy:$(NEOCUMA_VERSION) .
	docker build -q -f docker/gateway/Dockerfile --build-arg BASE_IMAGE=$(BASE_IMAGE) --build-arg NEOCUMA_VERSION=$(NEOCUMA_VERSION) --build-arg NEOCUMA_REVISION=$$(git rev-parse HEAD 2>/dev/null || echo unknown) -t neocuma/gateway:$(NEOCUMA_VERSION) .
endif

# The end-to-end tests' own tools (browser, promtool, SMTP sink), from Debian's packages, and
# the offsite targets (docker/offsite-targets/: OpenSSH's SFTP, rclone's REST, moto's S3).
test-images: images ## build the end-to-end tests' images (browser, promtool, SMTP sink; SFTP, REST and S3 targets)
	docker build -q -f docker/test-tools/Dockerfile --build-arg BASE_IMAGE=$(BASE_IMAGE) --build-arg NEOCUMA_VERSION=$(NEOCUMA_VERSION) --build-arg NEOCUMA_REVISION=$$(git rev-parse HEAD 2>/dev/null || echo unknown) -t neocuma/test-tools:$(NEOCUMA_VERSION) .
	for target in sftp rest s3; do docker build -q -f docker/offsite-targets/$$target.Dockerfile \
		--build-arg BASE_IMAGE=$(BASE_IMAGE) --build-arg NEOCUMA_VERSION=$(NEOCUMA_VERSION) --build-arg NEOCUMA_REVISION=$$(git rev-parse HEAD 2>/dev/null || echo unknown) -t neocuma/offsite-$$target:$(NEOCUMA_VERSION) . || exit 1; done

up: images ## build what is missing, start the stack (the demo without a .env) and wait until healthy
	$(COMPOSE) up -d
	./scripts/wait-healthy.sh $(COMPOSE_PROJECT_NAME) 600
	@echo
	@echo "NeoCuma Web (local server):  http://localhost:$${NEOCUMA_WEB_PORT:-8080}/"
	@echo "LAN address (gateway):        http://localhost:$${NEOCUMA_LAN_PORT:-80}/"
	@echo "Console of the guardian:      http://localhost:$${NEOCUMA_CONSOLE_PORT:-8000}/"
ifeq ($(DEPLOYMENT),demo)
	@echo "Demo remote, web:             http://127.0.0.1:$${NEOCUMA_DEMO_WEB_PORT:-8090}/"
	@echo "Demo remote, SSH/SFTP:        sftp -P $${NEOCUMA_DEMO_SSH_PORT:-2222} resp.fd12@127.0.0.1 (password in config/demo.env)"
else
	@echo "Production ($(COMPOSE_PROJECT_NAME)): now \`make login\` to pin the central server's key and log in"
endif

demo: ## start the demo (refused when .env says production)
	$(DEMO_ONLY)
	$(MAKE) up

down: ## stop the stack (volumes kept)
	$(COMPOSE) down

logs: ## follow the logs
	$(COMPOSE) logs -f --tail=200

login: ## pin the remote's host key and log in (a centre's host)
	$(GUARDIAN) login
backup: ## data backup + system.zip
	$(GUARDIAN) backup
sync: ## synchronise the local server from the latest backups
	$(GUARDIAN) sync
run: ## backup + sync (Lancer une Sauvegarde/Synchronisation maintenant)
	$(GUARDIAN) run
status: ## state of the remote, the backups, the local server, the synchronisation
	$(GUARDIAN) status
check: ## one line and an exit status for Nagios, Centreon or Icinga
	$(GUARDIAN) check
backups: ## the data backups and system.zip (Accéder au répertoire des sauvegardes)
	$(GUARDIAN) backups
dossiers: ## both lists of dossiers with their states
	$(GUARDIAN) dossiers
pull: ## Descendre vers serveur local: make pull DOSSIER=<code>
	@[ -n "$(DOSSIER)" ] || { echo "usage: make pull DOSSIER=<code> [DOSSIER='<code> <code>']"; exit 2; }
	$(GUARDIAN) pull $(DOSSIER)
restore: ## Remonter vers serveur distant: make restore DOSSIER=<code> [BACKUP=<data backup>] (password typed again)
	@[ -n "$(DOSSIER)" ] || { echo "usage: make restore DOSSIER=<code> [BACKUP=YYYY-MM-DDTHH-MM-SSZ.zip]"; exit 2; }
	$(GUARDIAN) restore $(DOSSIER) $(if $(BACKUP),--from-backup $(BACKUP))
offsite-password: ## create the offsite repository's password in the secrets directory (printed once: keep it offline)
	@./scripts/offsite-password.sh

fallback: ## the local server becomes the LAN's server (mode secours)
	$(GUARDIAN) mode fallback
standby: ## back to standby (mode veille)
	$(GUARDIAN) mode standby
return: ## Retour au serveur central after an outage: replay, standby, backup, sync [PLAN=1] (password typed again)
	$(GUARDIAN) return $(if $(PLAN),--plan)

seed: ## regenerate the demo remote's data (DOSSIERS= YEARS= SEED=)
	$(DEMO_ONLY)
	$(COMPOSE) exec -T remote-neocuma neocuma-server seed --dossiers $(DOSSIERS) --years $(YEARS) --seed $(SEED)

# The locked versions the image installs, with the test tools (requirements/test.lock), then
# the project itself, editable, with nothing more.
$(VENV)/.installed: pyproject.toml requirements/test.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --require-hashes -r requirements/test.lock
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e .
	touch $@

venv: $(VENV)/.installed ## the Python virtual environment with the test tools (.venv)

lint: venv ## ruff and mypy
	$(VENV)/bin/ruff check appliance tests bench scripts
	$(VENV)/bin/ruff format --check appliance tests bench scripts
	$(VENV)/bin/mypy

lock: ## regenerate requirements/runtime.lock and test.lock (pins and hashes) after a change of pyproject.toml
	./scripts/lock.sh

docs: venv ## regenerate docs/configuration.md from the declared settings
	$(PY) -m appliance.configuration.document > docs/configuration.md

# Test containers are labelled with the session id; a sweep removes what a killed run left.
export TESTCONTAINERS_RYUK_DISABLED := true
export TC_HOST ?= 127.0.0.1

clean-test: ## remove what a killed test run left (labelled containers, networks, volumes)
	@ids=$$(docker ps -aq --filter label=neocuma.test-session); \
		if [ -n "$$ids" ]; then docker rm -f -v $$ids >/dev/null; echo "removed leftover test containers"; fi
	@nets=$$(docker network ls -q --filter label=neocuma.test-session); \
		if [ -n "$$nets" ]; then docker network rm $$nets >/dev/null; fi
	@vols=$$(docker volume ls -q --filter label=neocuma.test-session); \
		if [ -n "$$vols" ]; then docker volume rm $$vols >/dev/null; fi
	@for project in $$( (docker ps -a --format '{{.Label "com.docker.compose.project"}}'; \
			docker volume ls --format '{{.Label "com.docker.compose.project"}}') | grep '^neocumatest' | sort -u); do \
		./scripts/compose.sh -p $$project -f docker-compose.yml -f docker-compose.demo.yml down -v --remove-orphans >/dev/null 2>&1 || true; \
		docker volume ls -q --filter label=com.docker.compose.project=$$project | xargs -r docker volume rm >/dev/null 2>&1 || true; \
		echo "removed leftover compose test project $$project"; done

test-unit: venv ## unit tests (pure logic and in-memory fakes, seconds; two workers)
	$(PY) -m pytest tests/unit -q -n 2 -W error::ResourceWarning

test-fuzz: venv ## seeded hostile backups and requests (2,000 cases each, a few seconds)
	$(PY) -m pytest tests/fuzz -q -m fuzz -s -W ignore::UserWarning

fuzz: venv ## the same with 20,000 cases and a seed of your own: make fuzz SEED=7
	NEOCUMA_FUZZ_CASES=20000 NEOCUMA_FUZZ_SEED=$(or $(SEED),1) $(PY) -m pytest tests/fuzz -q -m fuzz -s -W ignore::UserWarning

test-integration: prereqs venv test-images ## integration tests (our MariaDB image, the SSH endpoint in-process, OpenSSH; two workers, a module each)
	$(PY) -m pytest tests/integration -q -m integration -n 2 --dist loadfile --durations=10

test-e2e: prereqs venv test-images ## end-to-end tests (testcontainers on our images; two workers, a module each)
	$(PY) -m pytest tests/e2e -q -m e2e -n 2 --dist loadfile --durations=30

test: prereqs lint clean-test test-unit test-fuzz test-integration test-e2e ## every tier: lint, unit, fuzz, integration, end to end
