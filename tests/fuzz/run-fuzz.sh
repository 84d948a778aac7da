#!/bin/sh
# run-fuzz.sh run|merge FUZZ_BUILD SECONDS NAME... - drive the libFuzzer
# harnesses built by `make fuzz` (clang, ASan/UBSan).
#   run:   each harness for SECONDS (FUZZ_JOBS harnesses at a time, default
#          1), new inputs into FUZZ_BUILD/corpus/<name>/ (not committed),
#          seeds read from tests/fuzz/corpus/<name>/, crashes, leaks and
#          timeouts saved to tests/fuzz/regress/<name>/ (commit them: `make
#          check` replays every file there).
#   merge: minimise tests/fuzz/corpus/<name>/ + FUZZ_BUILD/corpus/<name>/
#          into tests/fuzz/corpus/<name>/ with -merge=1 (keep it small).
# Prints one line per harness: runs, coverage, crashes found.
set -u
mode=$1 build=$2 secs=$3
shift 3
cd "$(dirname "$0")/../.." || exit 1
jobs=${FUZZ_JOBS:-1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tests/fuzz/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

one() {
	n=$1
	bin=$build/fuzz/fuzz_$n
	work=$build/corpus/$n
	seeds=tests/fuzz/corpus/$n
	reg=tests/fuzz/regress/$n
	mkdir -p "$work" "$seeds" "$reg"
	dict=""
	# the real EFF list (about 120 KB) is the eff harness's best seed
	maxlen=${FUZZ_MAX_LEN:-8192}
	[ "$n" = eff ] && maxlen=${FUZZ_MAX_LEN:-140000}
	[ -f tests/fuzz/$n.dict ] && dict="-dict=tests/fuzz/$n.dict"
	case $mode in
	run)
		before=$(ls "$reg" | wc -l)
		"$bin" $dict -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		    -max_len=$maxlen -print_final_stats=1 \
		    -artifact_prefix="$reg/" "$work" "$seeds" >"$build/fuzz-$n.log" 2>&1
		rc=$?
		after=$(ls "$reg" | wc -l)
		runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/fuzz-$n.log" | grep -o '[0-9]*$')
		cov=$(grep -o 'cov: [0-9]*' "$build/fuzz-$n.log" | tail -n 1)
		echo "fuzz_$n: ${secs}s, ${runs:-?} runs, ${cov:-cov: ?}, exit $rc, $((after - before)) new in $reg"
		;;
	merge)
		rm -rf "$seeds.new"
		mkdir -p "$seeds.new"
		"$bin" -merge=1 -max_len=$maxlen "$seeds.new" "$seeds" "$work" \
		    >"$build/merge-$n.log" 2>&1 &&
		    rm -rf "$seeds" && mv "$seeds.new" "$seeds"
		echo "fuzz_$n: $(ls "$seeds" | wc -l) inputs, $(du -sk "$seeds" | cut -f1) KB"
		;;
	esac
}

running=0
for n in "$@"; do
	one "$n" &
	running=$((running + 1))
	if [ $running -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait
