# The two commands of the README: `make demo` and `make test`. Each builds .venv itself on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-distributed check test-clock lint bench docs screenshots clean postgres redis browser faketime

# Bytecode is compiled at install: every Airflow process the tests start then imports in half the time
# (machines that set PYTHONDONTWRITEBYTECODE would otherwise compile everything again in every process).
$(STAMP): pyproject.toml
	@echo ">> creating the virtual environment $(VENV) (Python >= 3.11) and installing the provider with its dev tools"
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --python $(PY) --quiet --compile-bytecode -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	@echo ">> running the demo: a throwaway local Airflow against the Instagram API emulator (outputs in ./instagram-demo)"
	$(VENV)/bin/airflow-instagram demo

lint: $(STAMP)
	@echo ">> ruff (lint and format) and mypy"
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The warehouse tests start their own throwaway PostgreSQL server from Debian's packages.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		echo ">> installing PostgreSQL from Debian's packages (the warehouse tests run a real server)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null; \
	fi

# The distributed test's Celery broker: Debian's redis-server, started by the test on a loopback port.
redis:
	@if ! command -v redis-server >/dev/null 2>&1; then \
		echo ">> installing redis-server from Debian's packages (the Celery broker of the distributed test)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null; \
	fi

# The onboarding test drives a real headless browser: Debian's Chromium and its WebDriver.
browser:
	@if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then \
		echo ">> installing Chromium and chromedriver from Debian's packages (the onboarding test uses a real browser)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; \
	fi

# The clock check runs the unit tests under libfaketime: Debian's faketime package.
faketime:
	@if ! command -v faketime >/dev/null 2>&1; then \
		echo ">> installing faketime from Debian's packages (the unit tests run again with a fake clock)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends faketime >/dev/null; \
	fi

# No test may depend on the time of day: tests/test_clock_moments.py runs the unit tests again under libfaketime,
# with the clock just after midnight UTC, on the first of a month, and at the last second of a year.
test-clock: $(STAMP) faketime
	@echo ">> unit tests with the clock at awkward moments (libfaketime)"
	$(PY) -m pytest tests/test_clock_moments.py -n 3

# Three pytest workers: the tests of the session's Airflow go to one of them (it starts that Airflow once), the
# others run everything else side by side (tests that start an Airflow of their own, the clock check, unit tests).
test: lint docs postgres browser faketime
	@echo ">> pytest: unit, emulator conformance, Airflow integration and end-to-end tests, the clock check"
	$(PY) -m pytest -n 3 --dist loadgroup -m "not distributed"

# The bundled DAGs on the CeleryExecutor: Redis, two workers with homes of their own, S3, a worker killed mid-export
# (tests/distributed). One pytest process: the tests run in order on one deployment.
test-distributed: $(STAMP) postgres redis
	@echo ">> pytest: the bundled DAGs on Airflow's CeleryExecutor with two workers (tests/distributed)"
	$(PY) -m pytest -p no:cacheprovider -m distributed tests/distributed

# The whole suite, what CI runs: make test, then make test-distributed, each timed.
check:
	@began=$$(date +%s); $(MAKE) --no-print-directory test && \
	echo ">> make test took $$(( $$(date +%s) - began )) s" && \
	began=$$(date +%s) && $(MAKE) --no-print-directory test-distributed && \
	echo ">> make test-distributed took $$(( $$(date +%s) - began )) s"

bench: $(STAMP) postgres redis
	@echo ">> benchmarks (medians of several runs, ratios against a baseline in the same run)"
	$(PY) benchmarks/emulator_throughput.py
	$(PY) benchmarks/hook_media_read.py --media 100000 --runs 3
	$(PY) benchmarks/token_refresh.py --accounts 1000 --runs 3 --metadata-db postgres
	$(PY) benchmarks/media_export.py --runs 3
	$(PY) benchmarks/warehouse_load.py --runs 3
	$(PY) benchmarks/insights.py
	$(PY) benchmarks/celery_scaling.py --accounts 16 --media 30 --runs 3

# The documentation (mkdocs.yml, docs/): --strict fails on a broken link or anchor, a page missing from the nav,
# and a README link that leads nowhere (docs/hooks/readme_links.py). Offline; a few seconds.
docs: $(STAMP)
	@echo ">> building the documentation with mkdocs --strict (the site in site/)"
	$(VENV)/bin/mkdocs build --strict --site-dir site

# The docs' images (docs/img) are taken by the browser test of the Instagram page, on a real Airflow.
screenshots: $(STAMP) postgres browser
	@echo ">> the browser test of the Instagram page, saving its screenshots to docs/img"
	SCREENSHOTS_DIR=docs/img $(PY) -m pytest -q -p no:cacheprovider tests/e2e/test_instagram_page.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache site
