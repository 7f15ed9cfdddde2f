#!/usr/bin/env bash
# A/B on the measured machine: kernels of 07fb3e2 (old) against the bundle's (new), alternating JVMs, all cores
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bundle-java.sh"
cp="$(ls "$here"/lib/*.jar | tr '\n' ':')"
lscpu | grep -E 'Model name|^CPU\(s\)|^Model:'
for i in 1 2 3; do for v in old new; do
  extra=""; [ $v = old ] && extra="$here/ab/kernels-07fb3e2.jar:"
  for shape in "8 512" "1 512"; do set -- $shape
    echo "== $v ($1, $2) $(nproc) threads"
    "$java" --add-modules jdk.incubator.vector -XX:+UseParallelGC -Xms10g -Xmx10g -XX:+AlwaysPreTouch -cp "$extra$cp" dev.hydra.cli.HydraCli \
      bench --config "$here/hydra-768.json" --batch $1 --seqlen $2 --threads "$(nproc)" --stages --seconds 2 2>&1 \
      | grep -E "^forward|fraction|^in_proj|^conv|^dt|^scan|^fc_D|^mix|^out_proj"
  done
done; done
