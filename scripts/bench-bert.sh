#!/usr/bin/env bash
# The CPU HydraBERT measurement (issue 12): the 23-layer, hidden-768 encoder of bench/configs (the release's
# bench.py configuration, seeded weights, fp32, every token valid) at (8, 512) and (32, 128) under -Xmx3g,
# beside the single layer of the same shape; prints sequences/s, tokens/s, tokens/s x 23 against the layer's
# tokens/s (the glue around the mixers), the same ratio measured interleaved in one JVM (robust to a loaded
# machine), the per-token ratio of the two shapes, and the peak heap above idle.
#   scripts/bench-bert.sh [--seconds S] [--pairs N] [--backend cpu|scalar|gpu]   (defaults: 5 s, 3 pairs, cpu)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=5
backend=cpu
pairs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    *) echo "bench-bert: unknown option $1 (known: --seconds S, --backend B)" >&2; exit 2 ;;
  esac
done
bert="$ROOT/bench/configs/hydrabert-768x23.json"
layer="$ROOT/bench/configs/hydra-768.json"
layers=$(grep -o '"num_hidden_layers": *[0-9]*' "$bert" | grep -o '[0-9]*$')
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
value() { grep "^$1" "$2" | head -1 | sed -E 's/^[^:]*: ([0-9.]+).*/\1/'; }

echo "| B | L | layer tokens/s | BERT sequences/s | BERT tokens/s | BERT tokens/s x $layers | / layer tokens/s | same, interleaved | peak heap above idle (GiB, -Xmx3g) |"
echo "|---|---|---|---|---|---|---|---|---|"
for shape in "8 512" "32 128"; do
  set -- $shape
  "$ROOT/hydra" bench --config "$layer" --batch "$1" --seqlen "$2" --seconds "$seconds" --backend "$backend" > "$log/layer-$1" 
  HYDRA_JAVA_OPTS="-Xmx3g ${HYDRA_JAVA_OPTS:-}" "$ROOT/hydra" bench --config "$bert" --batch "$1" --seqlen "$2" --seconds "$seconds" \
      --backend "$backend" --against-layer "$pairs" > "$log/bert-$1"
  lt=$(value "tokens/s" "$log/layer-$1"); bs=$(value "sequences/s" "$log/bert-$1"); bt=$(value "tokens/s" "$log/bert-$1")
  above=$(grep '^peak heap' "$log/bert-$1" | sed -E 's/.*above idle: ([0-9.]+) GiB.*/\1/')
  share=$(grep "^layers' share" "$log/bert-$1" | sed -E 's/.* = ([0-9.]+) \(median.*/\1/')
  awk -v b="$1" -v l="$2" -v lt="$lt" -v bs="$bs" -v bt="$bt" -v n="$layers" -v above="$above" -v share="$share" \
      'BEGIN { printf "| %d | %d | %.0f | %.2f | %.0f | %.0f | %.3f | %s | %s |\n", b, l, lt, bs, bt, bt * n, bt * n / lt, share, above }'
  echo "$bt" > "$log/tokens-$1"
done
awk -v a="$(cat "$log/tokens-8")" -v b="$(cat "$log/tokens-32")" \
    'BEGIN { printf "per-token time of (8, 512) / (32, 128): %.3f\n", b / a }'
echo "(machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); details: the bench output of each run)"
