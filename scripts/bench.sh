#!/usr/bin/env bash
# The whole CPU measurement in one command (docs/vector.md): builds bench/target/benchmarks.jar when the
# sources changed, then runs the suite: agreement with ONNX Runtime, JMH (our layer on all cores and on
# one, the FMA peak, ONNX Runtime), peak heap at (1, 65536), one summary table.
#   scripts/bench.sh                       the full suite (about 10 minutes on 2 cores)
#   scripts/bench.sh --quick               fewer iterations, ONNX Runtime only at L=512 (smoke run)
#   scripts/bench.sh --peer PATH.onnx      the ONNX peer; default $HYDRA_PEER_DIR/peer_hydra768.onnx, else
#                                          peer/peer_hydra768.onnx under the working directory (skipped when absent)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$ROOT/scripts/find-jdk.sh"
. "$ROOT/scripts/bench-jar.sh"
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx10g -XX:+UseParallelGC \
  -jar "$JAR" "$@" 2> >(grep -v '^WARNING: Using incubator modules' >&2)
