#!/usr/bin/env bash
# The fast part of the suite: every test that starts no server and no process (none marked [Slow], the trait
# Speed=Slow), for the edit-build-test loop. scripts/test.sh still runs everything, and is what CI runs.
# Usage: scripts/test-fast.sh [--no-build]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [[ ${1:-} != --no-build ]]; then
  dotnet build Breadboard.slnx -c Release --nologo -v quiet -clp:NoSummary
fi

# A project whose every test is slow runs none: exit code 8 (zero tests ran) is not a failure here.
dotnet test --solution Breadboard.slnx -c Release --no-build -- --filter-not-trait "Speed=Slow" --ignore-exit-code 8
