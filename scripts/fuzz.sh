#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser that reads outside input (fuzz/Breadboard.Fuzz, SharpFuzz + afl++).
# Builds the targets, instruments the assemblies under test, runs afl-fuzz on each target for a bounded time,
# merges what it found into the corpus kept in the repository (fuzz/corpus/TARGET) and lists any crash.
#
# Usage: scripts/fuzz.sh [TARGET...] [--minutes N] [--jobs J]
#   TARGET     one or more of the targets (default: all; `scripts/fuzz.sh --list` prints them)
#   --minutes  how long each target runs (default 10); a longer campaign: scripts/fuzz.sh --minutes 240
#   --jobs     how many targets run at once, one afl-fuzz each (default 1; each takes a core)
# Findings (afl's output directories, with crashes/ and hangs/) go to artifacts/fuzz/findings/TARGET, afl's final
# statistics to artifacts/fuzz/stats/TARGET.txt. CI does not run this: it replays the corpus (tests/Breadboard.Fuzz.Tests).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

minutes=10
jobs=1
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --list) ls fuzz/corpus; exit 0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ $minutes =~ ^[0-9]+$ && $minutes -gt 0 ]] || { echo "--minutes takes a whole number of minutes" >&2; exit 2; }
[[ $jobs =~ ^[0-9]+$ && $jobs -gt 0 ]] || { echo "--jobs takes a whole number" >&2; exit 2; }
if [[ ${#targets[@]} -eq 0 ]]; then
  mapfile -t targets < <(ls fuzz/corpus)
fi
for t in "${targets[@]}"; do
  [[ -d fuzz/corpus/$t ]] || { echo "unknown target '$t'; targets: $(ls fuzz/corpus | tr '\n' ' ')" >&2; exit 2; }
done

step() { printf '\n== %s\n' "$*"; }

step "afl++ (Debian's afl++ package)"
if ! command -v afl-fuzz >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then echo "afl-fuzz is missing; install it: sudo apt-get install -y afl++" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null
fi
(afl-fuzz -h 2>&1 || true) | head -1 | sed 's/\x1b\[[0-9;]*m//g'

step "SharpFuzz.CommandLine (local tool, .config/dotnet-tools.json)"
dotnet tool restore >/dev/null
dotnet tool list --local | grep -i sharpfuzz

work="$root/artifacts/fuzz"
dotnet="$(readlink -f "$(command -v dotnet)")" # afl-cmin wants a path
bin="$work/bin"
step "build fuzz/Breadboard.Fuzz (Release) into $bin and instrument the assemblies under test"
rm -rf "$bin"
dotnet publish fuzz/Breadboard.Fuzz -c Release -o "$bin" --nologo -v quiet -clp:NoSummary
# The product's parsers, and YamlDotNet so that coverage of YAML parsing guides the pipeline target too.
for dll in Breadboard.Core.dll Breadboard.Feeds.dll Breadboard.Kafka.dll YamlDotNet.dll; do
  dotnet sharpfuzz "$bin/$dll" >/dev/null
  echo "instrumented $dll"
done
# Replaying a crash uses the plain build: instrumented code needs afl's shared memory.
plain="fuzz/Breadboard.Fuzz/bin/Release/net10.0/Breadboard.Fuzz.dll"

export AFL_SKIP_CPUFREQ=1                    # no access to the CPU governor here
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 # core_pattern pipes to a handler on most machines
export AFL_SKIP_BIN_CHECK=1                  # the target is `dotnet`; the instrumentation is in the assemblies
export AFL_NO_UI=1                           # plain status lines, not the curses screen
export AFL_NO_AFFINITY=1                     # the machine is shared: let the scheduler place the fuzzers
export AFL_FORKSRV_INIT_TMOUT=120000         # .NET starts slowly, and slower on a loaded machine
export AFL_SKIP_CRASHES=1                    # a kept crash input in the corpus must not stop the run
export AFL_QUIET=1
# Per input. Not "10000+": with "+" afl++ computes a timeout from the calibration runs (20 ms here), and since the
# .NET process is the fork server as well as the target, a GC pause or a busy machine past it kills the whole run.
timeout_ms=10000
max_queue=64                                 # new corpus inputs kept per target
max_crashes=8                                # crash inputs kept per target and run

mkdir -p "$work/findings" "$work/stats" "$work/logs"

fuzz_one() { # fuzz_one TARGET: run afl-fuzz, then merge its queue into the corpus
  local t="$1" out="$work/findings/$1" log="$work/logs/$1.log"
  rm -rf "$out"
  local dict=()
  [[ -f fuzz/dict/$t.dict ]] && dict=(-x "fuzz/dict/$t.dict")
  echo "[$t] fuzzing for $minutes min (log: $log)"
  afl-fuzz -i "fuzz/corpus/$t" -o "$out" -t "$timeout_ms" -m none -V $((minutes * 60)) "${dict[@]}" \
    -- "$dotnet" "$bin/Breadboard.Fuzz.dll" "$t" >"$log" 2>&1 || { echo "[$t] afl-fuzz failed: see $log" >&2; tail -20 "$log" >&2; return 1; }
  cp "$out/default/fuzzer_stats" "$work/stats/$t.txt"

  # Merge: the corpus plus the new queue, minimised by afl-cmin to the smallest inputs covering every edge seen.
  local all="$work/merge/$t/all" min="$work/merge/$t/min"
  rm -rf "$work/merge/$t"; mkdir -p "$all"
  cp fuzz/corpus/"$t"/* "$all"/
  for f in "$out"/default/queue/id:*; do
    [[ -f $f && $(stat -c %s "$f") -le 4096 ]] || continue
    cp "$f" "$all/q-$(sha1sum "$f" | cut -c1-16)"
  done
  if afl-cmin -i "$all" -o "$min" -t 10000 -m none -- "$dotnet" "$bin/Breadboard.Fuzz.dll" "$t" >"$work/logs/$t.cmin.log" 2>&1; then
    # Keep the seeds and the crash inputs; of the minimised rest, the smallest $max_queue, so the corpus stays small
    # and CI's replay fast.
    find fuzz/corpus/"$t" -type f -name 'q-*' -delete
    find "$min" -type f -name 'q-*' -printf '%s %p\n' | sort -n | head -n "$max_queue" | cut -d' ' -f2- |
      while read -r f; do cp "$f" fuzz/corpus/"$t"/; done || true
  else
    echo "[$t] afl-cmin failed (see $work/logs/$t.cmin.log); the corpus is left as it was" >&2
  fi
  # The smallest few crashes join the corpus, so the replay test fails until they are fixed and guards the fix after.
  find "$out/default/crashes" -type f -name 'id:*' -size -4097c -printf '%s %p\n' 2>/dev/null | sort -n | head -n "$max_crashes" |
    cut -d' ' -f2- | while read -r f; do cp "$f" "fuzz/corpus/$t/crash-$(sha1sum "$f" | cut -c1-16)"; done || true
  summary "$t"
}

stat_of() { grep -E "^$2 " "$work/stats/$1.txt" | sed 's/.*: //'; }

summary() { # one line per target from afl's final fuzzer_stats
  local t="$1"
  printf '[%s] %s s, %s execs (%s/s), corpus %s, edges %s (%s of the map), crashes %s, hangs %s\n' "$t" \
    "$(stat_of "$t" run_time)" "$(stat_of "$t" execs_done)" "$(stat_of "$t" execs_per_sec)" "$(stat_of "$t" corpus_count)" \
    "$(stat_of "$t" edges_found)" "$(stat_of "$t" bitmap_cvg)" "$(stat_of "$t" saved_crashes)" "$(stat_of "$t" saved_hangs)"
}

step "fuzzing ${targets[*]}: $minutes min each, $jobs at a time"
status=0
running=0
for t in "${targets[@]}"; do
  fuzz_one "$t" &
  running=$((running + 1))
  if [[ $running -ge $jobs ]]; then
    wait -n || status=1
    running=$((running - 1))
  fi
done
while [[ $running -gt 0 ]]; do
  wait -n || status=1
  running=$((running - 1))
done

step "results"
crashes=0
for t in "${targets[@]}"; do
  [[ -f $work/stats/$t.txt ]] || continue
  summary "$t"
  for f in "$work/findings/$t"/default/crashes/id:*; do
    [[ -f $f ]] || continue
    crashes=$((crashes + 1))
    echo "  crash: $f"
    echo "  reproduce: dotnet $plain $t '$f'"
  done
  # A hang is an input that took longer than the timeout: on a busy machine possibly just a slow run, so it is
  # listed to be timed by hand, not kept.
  for f in "$work/findings/$t"/default/hangs/id:*; do
    [[ -f $f ]] || continue
    echo "  hang: $f"
    echo "  time it: time dotnet $plain $t '$f'"
  done
done
echo "corpus: $(find fuzz/corpus -type f | wc -l) files, $(du -sb fuzz/corpus | cut -f1) bytes"
if [[ $crashes -gt 0 ]]; then
  echo "$crashes crash(es) found; each is kept in fuzz/corpus/TARGET/crash-* so the replay test fails until it is fixed" >&2
  exit 1
fi
exit $status
