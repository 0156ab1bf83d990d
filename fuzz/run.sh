#!/bin/sh
# Run each libFuzzer harness for SECONDS on a working copy of its seed
# corpus (the seeds in fuzz/corpus/ are not written to) and print one
# line of figures per harness. Exit 1 if any harness found a crash.
# usage: fuzz/run.sh BUILD SECONDS HARNESS...
set -u
build=$1 secs=$2
shift 2
status=0
mkdir -p "$build/fuzz/artifacts"
for h in "$@"; do
	work=$build/fuzz/corpus/$h
	log=$build/fuzz/$h.log
	mkdir -p "$work"
	dict=
	[ -f "fuzz/$h.dict" ] && dict=-dict=fuzz/$h.dict
	"$build/fuzz/fuzz_$h" -max_total_time="$secs" -print_final_stats=1 \
	    -rss_limit_mb=1024 -timeout=10 -max_len=16384 $dict \
	    -artifact_prefix="$build/fuzz/artifacts/$h-" \
	    "$work" "fuzz/corpus/$h" > "$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
	echo "fuzz: $h: ${execs:-?} execs in ${secs} s (${rate:-?}/s)," \
	    "cov ${cov:-?} edges, ft ${ft:-?}, corpus ${corp:-?}, exit $rc"
	if [ "$rc" -ne 0 ]; then
		status=1
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5
	fi
done
rm -f /tmp/fuzz-fromxml.*
exit $status
