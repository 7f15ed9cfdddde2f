#!/usr/bin/env bash
# Builds hydra-gpu (with nvcc when present), assembles a bundle that needs nothing on the GPU machine
# (a jlink-ed Java runtime, the jars, the test classes, scripts/gpu-remote.sh) and runs the GPU tests
# and benchmark with it:
#   scripts/gpu-run.sh [BUNDLE_DIR]            build + bundle (default target/gpu-bundle); runs it here if
#                                              this machine has an NVIDIA GPU
#   GPU_SSH=user@host scripts/gpu-run.sh       also copies the bundle there and runs it
#   RELEASE_DIR=DIR scripts/gpu-run.sh         also bundles the release's sources (DIR holds bench.py,
#                                              hydra/, mamba_ssm/) to time it in the same run
#   CPU_BENCH=1 scripts/gpu-run.sh             also bundles the CLI, so that gpu-remote.sh can run
#                                              `hydra bench` on the GPU machine's CPU (CPU_THREADS)
# A bundle inside the repository (e.g. scripts/gpu-run.sh .gpu-carry) travels with a copy of the working
# tree and runs there as `bash .gpu-carry/gpu-remote.sh` (see docs/gpu.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bundle=$(realpath -m "${1:-$root/target/gpu-bundle}")
. "$root/scripts/find-jdk.sh"
. "$root/scripts/bundle-jre.sh"
command -v nvcc >/dev/null || echo "gpu-run: nvcc not found: the bundle will have no CUDA kernels" >&2

cd "$root"
rm -rf "$bundle/lib" "$bundle/test-classes"
mkdir -p "$bundle/lib"
mvn -B -q -pl hydra-gpu -am -DskipTests package dependency:copy-dependencies \
    -DincludeScope=test -DexcludeGroupIds=org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian,net.jqwik,net.bytebuddy,ai.djl,ai.djl.huggingface,net.java.dev.jna,com.google.code.gson,commons-io -DexcludeArtifactIds=commons-compress \
    -DoutputDirectory="$bundle/lib"
cp hydra-gpu/target/hydra-gpu-*.jar "$bundle/lib/"
# CPU_BENCH=1: also the CLI's own (unshaded) jars, for `hydra bench` on the GPU machine's CPU, and the server
# with its libraries and the benchmarks' own jar, for ServeBench there (gpu-remote.sh)
if [ -n "${CPU_BENCH:-}" ]; then
    mvn -B -q -pl hydra-cli,bench -am -DskipTests package
    mvn -B -q -pl hydra-server -am -DskipTests package dependency:copy-dependencies -DincludeScope=runtime \
        -DexcludeGroupIds=com.google.code.gson,commons-io -DexcludeArtifactIds=commons-compress \
        -DoutputDirectory="$bundle/lib"
    cp hydra-cli/target/hydra-cli-*.jar hydra-server/target/hydra-server-*.jar bench/target/hydra-bench-*.jar "$bundle/lib/"
    # the tokenizer's native library for linux-x86_64 only (the jar holds every platform's)
    tokenizers=$(ls "$bundle"/lib/tokenizers-*.jar)
    tmp=$(mktemp -d)
    (cd "$tmp" && "$JAVA_HOME/bin/jar" xf "$tokenizers" && rm "$tokenizers" \
        && find native/lib -mindepth 1 -maxdepth 1 -type d ! -name linux-x86_64 -exec rm -rf {} + \
        && "$JAVA_HOME/bin/jar" cfM "$tokenizers" .)
    rm -rf "$tmp"
    picocli=$(sed -n 's:.*<picocli.version>\(.*\)</picocli.version>.*:\1:p' pom.xml)
    cp "$HOME/.m2/repository/info/picocli/picocli/$picocli/picocli-$picocli.jar" "$bundle/lib/"
    cp bench/configs/hydra-768.json "$bundle/"
fi
rm -f "$bundle"/lib/hydra-vec-*-tests.jar
cp -r hydra-gpu/target/test-classes "$bundle/test-classes"
console=junit-platform-console-standalone-1.11.4.jar
jar="$HOME/.m2/repository/org/junit/platform/junit-platform-console-standalone/1.11.4/$console"
[ -f "$jar" ] || mvn -B -q dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.11.4 -Dtransitive=false
cp "$jar" "$bundle/$console"
# only the driver API's library of the JCuda natives (the jar holds every JCuda library)
natives=$(ls "$bundle"/lib/jcuda-natives-*.jar)
tmp=$(mktemp -d)
(cd "$tmp" && "$JAVA_HOME/bin/jar" xf "$natives" && rm "$natives" && "$JAVA_HOME/bin/jar" cfM "$natives" lib/libJCudaDriver-*)
rm -rf "$tmp"
bundle_jre "$bundle" java.base,jdk.incubator.vector,java.logging,jdk.unsupported,java.management,jdk.zipfs,java.net.http,jdk.jfr
cp scripts/gpu-remote.sh "$bundle/gpu-remote.sh"
cp scripts/gpu-compare.py "$bundle/gpu-compare.py"
rm -rf "$bundle/release"
[ -z "${RELEASE_DIR:-}" ] || cp -r "$RELEASE_DIR" "$bundle/release"
echo "gpu-run: bundle $bundle ($(du -sh "$bundle" | cut -f1))"

if [ -n "${GPU_SSH:-}" ]; then
    rsync -a --delete "$bundle/" "$GPU_SSH:hydra-gpu-bundle/"
    ssh "$GPU_SSH" 'cd hydra-gpu-bundle && OUT=$PWD/out bash gpu-remote.sh'
elif command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    (cd "$bundle" && OUT=$bundle/out bash gpu-remote.sh)
fi
