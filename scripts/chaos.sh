#!/usr/bin/env bash
# The production face as a whole under load and faults (chaos/Breadboard.Chaos): librdkafka's mock cluster
# (3 brokers, its own process), ingest from a generated file with disorder, duplicates, late ticks and bad lines,
# two processors into a real ClickHouse, alerts on a real NATS JetStream, a webhook notifier to a signed-webhook
# receiver, and the api; faults at seeded random moments; then a drain and the checks against a replay of the
# same file. Exit 0 only when every check holds; each run's directory (logs, input, samples.csv, report.html)
# is under artifacts/chaos/.
#
# Usage: scripts/chaos.sh [--minutes N] [--seed S] [--rate R]     (defaults: 10 minutes, a random seed, 10,000 ticks/s)
# Needs nats-server and clickhouse-server (scripts/test.sh installs them).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build chaos/Breadboard.Chaos/Breadboard.Chaos.csproj -c Release --nologo -v quiet -clp:NoSummary
exec dotnet chaos/Breadboard.Chaos/bin/Release/net10.0/Breadboard.Chaos.dll "$@"
