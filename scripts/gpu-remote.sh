#!/usr/bin/env bash
# Runs on the GPU machine from a bundle made by scripts/gpu-run.sh: the GPU test suite, the layer
# benchmark, the 23-layer HydraBERT benchmark and, when the bundle holds the release's sources in release/
# (with bench.py), the release's bench.py (layer, then bert) on the same GPU, with the layer figures side by
# side (gpu-compare.py); logs go to $OUT (default ./out), the tables last.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/out}
mkdir -p "$out"
. "$here/bundle-java.sh"
flags="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx32g"
cp="$(ls "$here"/lib/*.jar | tr '\n' ':')$here/test-classes"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv,noheader | tee "$out/device.txt"

"$java" $flags -jar "$here"/junit-platform-console-standalone-*.jar execute --class-path "$cp" \
    --select-package dev.hydra.gpu --details=tree --disable-banner --disable-ansi-colors 2>&1 | tee "$out/tests.log"
tests=${PIPESTATUS[0]}

"$java" $flags -cp "$cp" dev.hydra.gpu.GpuBenchmark ${BENCH_MODES:-} 2>&1 | tee "$out/bench.log"
bench=${PIPESTATUS[0]}

"$java" $flags -cp "$cp" dev.hydra.gpu.GpuBertBenchmark ${BERT_MODES:-} 2>&1 | tee "$out/bert.log"
bert=${PIPESTATUS[0]}

if [ -f "$here/release/bench.py" ]; then
    PYTHONUNBUFFERED=1 python3 "$here/release/bench.py" ${RELEASE_BENCH:-layer} 2>&1 | tee "$out/release.log"
    (cd "$here/release" && PYTHONUNBUFFERED=1 python3 bench.py bert) 2>&1 | tee "$out/release-bert.log"
    echo "== ours and the release, same GPU, median ms:"
    python3 "$here/gpu-compare.py" "$out/bench.log" "$out/release.log" | tee "$out/compare.md"
fi

# CPU_THREADS="1 2 4 8 16" [CPU_SHAPES="1x65536 8x512"] (bundle made with CPU_BENCH=1): the d_model 768 layer on this machine's CPU, per thread count
if [ -n "${CPU_THREADS:-}" ] && [ -f "$here/hydra-768.json" ]; then
    lscpu | grep -E 'Model name|^CPU\(s\)|Flags' | cut -c1-200 | tee "$out/cpu.txt"
    # the heap committed and touched at start: pages the collector gives back fault in again one by one under
    # each forward's new output array, which cost out_proj up to 2x on this machine (docs/vector.md)
    for shape in ${CPU_SHAPES:-1x65536 8x512}; do
        for t in $CPU_THREADS; do
            echo "== cpu bench ${shape} threads $t"
            "$java" --add-modules jdk.incubator.vector -XX:+UseParallelGC -Xms40g -Xmx40g -XX:+AlwaysPreTouch -cp "$cp" dev.hydra.cli.HydraCli bench \
                --config "$here/hydra-768.json" --batch "${shape%x*}" --seqlen "${shape#*x}" --threads "$t" --stages --min-runs "${CPU_MIN_RUNS:-2}" 2>&1 \
                | grep -v '^WARNING: Using incubator'
        done
    done 2>&1 | tee "$out/cpu-bench.log"
fi

# SERVE_BENCH="--layers 23 --hidden 768 ...; --threads 12 ..." (bundle made with CPU_BENCH=1): ServeBench on this
# machine's CPU, once per ';'-separated set of options
if [ -n "${SERVE_BENCH:-}" ] && ls "$here"/lib/hydra-bench-*.jar >/dev/null 2>&1; then
    lscpu | grep -E 'Model name|^CPU\(s\)' | tee "$out/serve-cpu.txt"
    IFS=';' read -ra serve_runs <<< "$SERVE_BENCH"
    for options in "${serve_runs[@]}"; do
        echo "== ServeBench $options" | tee -a "$out/serve-bench.log"
        "$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx8g -XX:+UseParallelGC -cp "$cp" \
            dev.hydra.bench.ServeBench $options 2>&1 | grep -v -E '^WARNING: Using incubator|^SLF4J' | tee -a "$out/serve-bench.log"
    done
fi

echo "== gpu tests: $(grep -E 'tests (successful|failed|skipped|aborted)' "$out/tests.log" | tr -s ' ' | tr '\n' ' ')"
echo "== exit codes: tests $tests, benchmark $bench, bert benchmark $bert"
[ "$tests" = 0 ] && [ "$bench" = 0 ] && [ "$bert" = 0 ]
