#!/usr/bin/env bash
# A/B on the GPU machine's CPU: kernels of a56bcf2 (old: the scan in windows only) against the bundle's (new: in order where the threads allow), alternating JVMs
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bundle-java.sh"
cp="$(ls "$here"/lib/*.jar | tr '\n' ':')"
lscpu | grep -E 'Model name|^CPU\(s\)|^Model:'
run() { # label taskset-cpus threads batch len
  local v=$1 cpus=$2 t=$3 b=$4 l=$5 extra=""
  [ $v = old ] && extra="$here/ab/kernels-a56bcf2.jar:"
  echo "== $v ($b, $l) $t threads on cpus $cpus"
  taskset -c $cpus "$java" --add-modules jdk.incubator.vector -XX:+UseParallelGC -Xms10g -Xmx10g -XX:+AlwaysPreTouch -cp "$extra$cp" dev.hydra.cli.HydraCli \
    bench --config "$here/hydra-768.json" --batch $b --seqlen $l --threads $t --stages --seconds 2 2>&1 \
    | grep -E "^forward|fraction|^in_proj|^scan|^fc_D|^out_proj"
}
for i in 1 2; do for v in old new; do
  run $v 0,1 2 8 512
  run $v 0,1 2 1 8192
  run $v 0-15 16 8 512
  run $v 0-15 16 1 65536
  [ $i = 1 ] && run $v 0 1 1 65536
done; done
