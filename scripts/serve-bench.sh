#!/usr/bin/env bash
# hydra serve under load (README "hydra serve"): builds bench/target/benchmarks.jar when the sources changed,
# then runs dev.hydra.bench.ServeBench on loopback: dynamic batching vs --max-batch 1 vs the library,
# p50/p99 latency at 1/8/32/128 clients, a 10,000-request soak with 10% malformed requests.
#   scripts/serve-bench.sh                                  default model: 4 Hydra layers, hidden 256
#   scripts/serve-bench.sh --layers 23 --hidden 768         the paper's size (slow on 2 cores)
#   scripts/serve-bench.sh --requests 200 --soak 1000       a smoke run
#   scripts/serve-bench.sh --requests 4000 --rounds 3       the throughput figures (alternating rounds, medians)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$ROOT/scripts/find-jdk.sh"
. "$ROOT/scripts/bench-jar.sh"
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx4g -XX:+UseParallelGC \
  -cp "$JAR" dev.hydra.bench.ServeBench "$@" 2> >(grep -v '^WARNING: Using incubator modules' >&2)
