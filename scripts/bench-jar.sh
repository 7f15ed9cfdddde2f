# Sourced by the benchmark scripts (after find-jdk.sh, with ROOT set): JAR is bench/target/benchmarks.jar,
# built first when it is missing or older than the sources of the modules it holds.
JAR="$ROOT/bench/target/benchmarks.jar"
if [ ! -f "$JAR" ] || [ -n "$(find "$ROOT/hydra-vec/src/main" "$ROOT/hydra-server/src/main" "$ROOT/bench/src/main" \
        "$ROOT/pom.xml" "$ROOT/hydra-vec/pom.xml" "$ROOT/hydra-server/pom.xml" "$ROOT/bench/pom.xml" -newer "$JAR" -print -quit)" ]; then
  echo "$(basename "$0" .sh): building bench/target/benchmarks.jar..." >&2
  mvn -B -ntp -q -f "$ROOT/pom.xml" -DskipTests -pl bench -am package >&2
fi
