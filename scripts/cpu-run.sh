#!/usr/bin/env bash
# Builds a bundle for measuring the CPU of another machine (the GPU machine's 16-core Intel CPU, docs/vector.md)
# small enough for the device's 64 MiB: a jlink-ed runtime, the benchmark jar cut to what these runs need (the
# engine, JMH, Jackson, ONNX Runtime with its linux-x64 library only), the CLI's jars, the layer config and the
# peer's .onnx. Run it there as `bash BUNDLE_DIR/cpu-remote.sh` (logs under $OUT, else BUNDLE_DIR/out).
#   scripts/cpu-run.sh BUNDLE_DIR [PEER.onnx]   a BUNDLE_DIR inside the checkout (e.g. .gpu-carry-cpu, git-ignored)
#                                               travels with the working tree when carried
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "cpu-run: usage: scripts/cpu-run.sh BUNDLE_DIR [PEER.onnx]" >&2; exit 2; }
bundle=$(realpath -m "$1")
peer=${2:-${HYDRA_PEER_DIR:-$root/peer}/peer_hydra768.onnx}
[ -f "$peer" ] || { echo "cpu-run: $peer: no such file (give the peer's .onnx as the second argument)" >&2; exit 2; }
. "$root/scripts/find-jdk.sh"
. "$root/scripts/bundle-jre.sh"
cd "$root"
mvn -B -ntp -q -DskipTests -pl hydra-cli,bench -am package
rm -rf "$bundle/lib" && mkdir -p "$bundle/lib"
all=$(mktemp -d) keep=$(mktemp -d)
(cd "$all" && "$JAVA_HOME/bin/jar" xf "$root/bench/target/benchmarks.jar")
mkdir -p "$keep/org" "$keep/ai" "$keep/com"
cp -r "$all/dev" "$all/META-INF" "$all/joptsimple" "$keep/"
cp -r "$all/org/openjdk" "$all/org/apache" "$keep/org/"
cp -r "$all/ai/onnxruntime" "$keep/ai/"
find "$keep/ai/onnxruntime/native" -mindepth 1 -maxdepth 1 -type d ! -name linux-x64 -exec rm -rf {} +
cp -r "$all/com/fasterxml" "$keep/com/"
(cd "$keep" && "$JAVA_HOME/bin/jar" cfm "$bundle/lib/benchmarks.jar" META-INF/MANIFEST.MF .)
rm -rf "$all" "$keep"
# the CLI and what it links against beside the benchmark jar (the GPU classes: it names CudaBackend)
jcuda=$(sed -n 's:.*<jcuda.version>\(.*\)</jcuda.version>.*:\1:p' pom.xml)
picocli=$(sed -n 's:.*<picocli.version>\(.*\)</picocli.version>.*:\1:p' pom.xml)
cp hydra-cli/target/hydra-cli-*.jar hydra-gpu/target/hydra-gpu-*.jar "$bundle/lib/"
cp "$HOME/.m2/repository/org/jcuda/jcuda/$jcuda/jcuda-$jcuda.jar" "$HOME/.m2/repository/info/picocli/picocli/$picocli/picocli-$picocli.jar" "$bundle/lib/"
cp bench/configs/hydra-768.json scripts/cpu-remote.sh "$bundle/"
cp "$peer" "$bundle/peer_hydra768.onnx"
bundle_jre "$bundle" java.base,jdk.incubator.vector,java.logging,jdk.unsupported,java.management,jdk.zipfs,jdk.jfr
echo "cpu-run: bundle $bundle ($(du -sh "$bundle" | cut -f1))"
