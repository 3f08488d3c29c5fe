#!/usr/bin/env bash
# Runs every check and test of the repository on a fresh clone: installs what the tests need, builds with
# warnings as errors, verifies formatting, runs all test projects, smoke-runs the benchmark command, and runs the
# 2-minute chaos run of the production face.
# Usage: scripts/test.sh            (CI calls exactly this through .ci/run)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

step() { printf '\n== %s\n' "$*"; }

step "toolchain"
command -v dotnet >/dev/null || { echo "dotnet (SDK 10) is required: https://dotnet.microsoft.com/download" >&2; exit 1; }
dotnet --version

# Debian packages the tests start as real servers or drive; a missing one is installed, or the run fails.
# has COMMAND-OR-FILE: a command on PATH or in /usr/sbin, or (an absolute path) a file such as a jar.
has() { if [[ $1 == /* ]]; then [[ -e $1 ]]; else command -v "$1" >/dev/null || [[ -x /usr/sbin/$1 ]]; fi; }
need_package() { # need_package COMMAND-OR-FILE PACKAGE
  if ! has "$1"; then
    if [[ $(id -u) -ne 0 ]]; then echo "$1 is missing; install it: sudo apt-get install -y $2" >&2; exit 1; fi
    if [[ -z ${apt_updated:-} ]]; then apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    has "$1" || { echo "$1 is still missing after apt-get install $2" >&2; exit 1; }
  fi
}

step "browser for the end-to-end test (Debian's chromium; Playwright drives it)"
need_package chromium chromium
chromium --version

step "nats-server for the alert bus tests (JetStream, started by the tests on free ports)"
need_package nats-server nats-server
PATH="$PATH:/usr/sbin" nats-server --version

step "clickhouse-server for the ClickHouse store tests (Debian's 18.16; the tests start it on free ports)"
need_package clickhouse-server clickhouse-server

step "zookeeper for the replicated ClickHouse cluster tests (Debian's 3.8 jars, run standalone with java on a free port)"
need_package /usr/share/java/zookeeper.jar zookeeper
need_package java default-jre-headless
java -version 2>&1 | head -n 1

# need_python_module MODULE PACKAGE: a Debian package that python3 imports (it has no command to look for).
need_python_module() {
  if ! python3 -c "import $1" 2>/dev/null; then
    if [[ $(id -u) -ne 0 ]]; then echo "python3 cannot import $1; install it: sudo apt-get install -y $2" >&2; exit 1; fi
    if [[ -z ${apt_updated:-} ]]; then apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    # Debian's package serves Debian's python3; another python3 first on PATH does not see it.
    python3 -c "import $1" || { echo "python3 ($(command -v python3)) still cannot import $1 after installing $2" >&2; exit 1; }
  fi
}

step "python3 and Jinja for the Airflow DAG's checks (Airflow itself cannot be installed here)"
need_package python3 python3
need_python_module jinja2 python3-jinja2
python3 -c 'import jinja2, sys; print("python", sys.version.split()[0], "jinja2", jinja2.__version__)'
command -v npm >/dev/null || { echo "npm is required to build the dashboard assets (Node.js 20)" >&2; exit 1; }

step "restore and build (Release, warnings are errors)"
dotnet build Breadboard.slnx -c Release --nologo -v quiet -clp:NoSummary

step "format"
dotnet format Breadboard.slnx --verify-no-changes --no-restore

step "tests"
log="$(mktemp)"
set +e
dotnet test --solution Breadboard.slnx -c Release --no-build 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

step "benchmark smoke run (not a timing check: it proves 'breadboard bench replay' works end to end)"
bench_dir="$(mktemp -d)"
(cd "$bench_dir" && "$root/breadboard" bench replay --ticks 20000 --symbols 5 --runs 1)
rm -rf "$bench_dir"

step "chaos run, 2 minutes, seed 1 (docs/RELIABILITY.md): the production face under load and faults of every kind, checked against a replay"
chaos_status=0
dotnet chaos/Breadboard.Chaos/bin/Release/net10.0/Breadboard.Chaos.dll --minutes 2 --seed 1 || chaos_status=$?

# One plain closing line for CI: totals over every test project.
passed=$(grep -E '^\s+succeeded: [0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -E '^\s+failed: [0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -E '^\s+skipped: [0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo
echo "tests: $passed passed, $failed failed, $skipped skipped; chaos run: $([[ $chaos_status -eq 0 ]] && echo "every check held" || echo "failed (exit $chaos_status, its directory is under artifacts/chaos/)")"
if [[ $status -ne 0 || $failed -ne 0 || $passed -eq 0 || $chaos_status -ne 0 ]]; then
  exit 1
fi
