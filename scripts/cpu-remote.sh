#!/usr/bin/env bash
# Runs on the measured machine from a bundle made by scripts/cpu-run.sh (docs/vector.md, eighth session):
# 1. two of its cores (taskset -c ${CPU_PAIR:-0,1}, as the 2-core build machines): JMH's FMA peak, our layer at (1, 512),
#    (8, 512), (1, 8192) and (1, 65536) and ONNX Runtime at (8, 512) and (1, 8192), as scripts/bench.sh measures them,
#    then `hydra bench --stages` at (8, 512) and (1, 8192) there;
# 2. all its cores: `hydra bench --stages` at (1, 65536) on CPU_THREADS (default "16 1 16") threads.
# With QUIET_GFLOPS=G it first measures the FMA loop on all cores (a few seconds) and stops there, with exit status 3,
# when it reads below G GFLOP/s: a shared host's load halves that figure (docs/vector.md, eleventh session).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/out}
mkdir -p "$out"
. "$here/bundle-java.sh"
cp="$(ls "$here"/lib/*.jar | tr '\n' ':')"
lscpu | tee "$out/lscpu.txt" | grep -E 'Model name|^CPU\(s\)|^Model:'
jmh() {
    taskset -c "${CPU_PAIR:-0,1}" "$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$here/lib/benchmarks.jar" \
        org.openjdk.jmh.Main "$@" 2>&1 | grep -E 'avgt|thrpt|^Benchmark|^Iteration|VM options|ERROR|Exception'
}
if [ -n "${QUIET_GFLOPS:-}" ]; then
    [[ "$QUIET_GFLOPS" =~ ^[0-9]+$ ]] || { echo "cpu-remote: QUIET_GFLOPS must be a whole number of GFLOP/s, got '$QUIET_GFLOPS'"; exit 2; }
    # `hydra bench` on a small shape ends with the FMA loop on all cores (FmaPeak, the peak of every % below)
    "$java" --add-modules jdk.incubator.vector -cp "$cp" dev.hydra.cli.HydraCli bench --config "$here/hydra-768.json" \
        --batch 1 --seqlen 64 --threads "$(nproc)" --seconds 0.5 2>&1 | grep -v '^WARNING: Using incubator' > "$out/quiet-check.log"
    gflops=$(sed -n 's/^FMA peak on [0-9]* threads: \([0-9.]*\) GFLOP\/s.*/\1/p' "$out/quiet-check.log" | awk '{printf "%.0f", $1}')
    [ -n "$gflops" ] || { echo "cpu-remote: the quiet check measured no FMA peak (see $out/quiet-check.log)"; exit 2; }
    echo "FMA loop on $(nproc) threads: $gflops GFLOP/s (quiet from $QUIET_GFLOPS)" | tee -a "$out/quiet-check.log"
    [ "$gflops" -ge "$QUIET_GFLOPS" ] || exit 3
fi
{
    echo "== two cores: FMA peak on 2 threads"; jmh FmaBench -t 2 -f 1 -i 6
    echo "== two cores: our layer on 2 threads"; jmh LayerBench -p shape=1x512,8x512,1x8192,1x65536 -p threads=0 -f 1 -i 8
    echo "== two cores: ONNX Runtime, 2 intra-op threads"; jmh OrtBench -p shape=8x512,1x8192 -p model="$here/peer_hydra768.onnx" -f 1 -i 5
    echo "== two cores: FMA peak on 2 threads, again"; jmh FmaBench -t 2 -f 1 -i 6
    for shape in "8 512" "1 8192"; do
        set -- $shape
        echo "== two cores: hydra bench --stages ($1, $2)"
        taskset -c "${CPU_PAIR:-0,1}" "$java" --add-modules jdk.incubator.vector -XX:+UseParallelGC -Xms10g -Xmx10g -XX:+AlwaysPreTouch \
            -cp "$cp" dev.hydra.cli.HydraCli bench --config "$here/hydra-768.json" --batch "$1" --seqlen "$2" --threads 2 --stages 2>&1 \
            | grep -v '^WARNING: Using incubator'
    done
} | tee "$out/two-cores.log"
for t in ${CPU_THREADS:-16 1 16}; do
    echo "== hydra bench (1, 65536), $t threads"
    "$java" --add-modules jdk.incubator.vector -XX:+UseParallelGC -Xmx40g -cp "$cp" dev.hydra.cli.HydraCli bench \
        --config "$here/hydra-768.json" --batch 1 --seqlen 65536 --threads "$t" --stages --min-runs 2 2>&1 \
        | grep -v '^WARNING: Using incubator'
done | tee "$out/all-cores.log"
