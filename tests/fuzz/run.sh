#!/usr/bin/env bash
# Runs libFuzzer targets (built by make into build/fuzz/bin) for SECONDS each
# and prints, per target, executions, executions per second, crashes and the
# corpus size. Exits 1 when any target crashed; the inputs that did are kept
# in build/fuzz/artifacts/<target>/ (until the next run) and the output in build/fuzz/logs/.
#
# The fuzzer reads the committed seeds in tests/fuzz/corpus/<target>/ and
# writes what it finds into build/fuzz/corpus/<target>/, so a run never
# changes the tree (tests/fuzz/README.md says how to keep new entries).
#
# Usage: tests/fuzz/run.sh SECONDS TARGET...
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

seconds=${1:?usage: tests/fuzz/run.sh SECONDS TARGET...}
shift
out=build/fuzz
failed=0

stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }

for target in "$@"; do
	bin=$out/bin/fuzz-$target
	corpus=$out/corpus/$target
	artifacts=$out/artifacts/$target
	log=$out/logs/$target.log
	rm -rf "$artifacts" # the inputs that crashed the last run only
	mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
	dict=()
	[[ -f tests/fuzz/dict/$target.dict ]] && dict=(-dict="tests/fuzz/dict/$target.dict")
	rc=0
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$artifacts/" "${dict[@]}" \
		"$corpus" "tests/fuzz/corpus/$target" >"$log" 2>&1 || rc=$?
	crashes=$(find "$artifacts" -type f | wc -l)
	execs=$(stat number_of_executed_units "$log")
	rate=$(stat average_exec_per_sec "$log")
	size=$(find "$corpus" "tests/fuzz/corpus/$target" -type f | wc -l)
	printf 'fuzz %-12s %10s executions %6s exec/s  %d crashes  corpus %d files  (%ss)\n' \
		"$target" "${execs:-?}" "${rate:-?}" "$crashes" "$size" "$seconds"
	if ((rc != 0 || crashes > 0)); then
		failed=1
		echo "fuzz $target: failed (exit $rc); the end of $log:" >&2
		tail -40 "$log" >&2
	fi
done
exit "$failed"
