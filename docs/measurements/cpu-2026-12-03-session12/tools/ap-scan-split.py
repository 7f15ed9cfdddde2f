"""Splits async-profiler's collapsed stacks of a ScanAB run into the scan's three passes and, per pass, the first
frame below it (inlined Vector API frames included; an arraycopy stub shows under the inlined frame before it)."""
import collections, sys

passes = ('chunkState', 'chunkOutput', 'passStates')
leaf, per_pass, child, total = collections.Counter(), collections.Counter(), collections.Counter(), 0
for line in open(sys.argv[1]):
    stack, n = line.rsplit(' ', 1)
    n = int(n)
    names = [x.split('/')[-1] for x in stack.split(';')]
    found = None
    for i, x in enumerate(names):
        for p in passes:
            if x.endswith(p):
                found = (p, i)
    if not found:
        continue
    total += n
    per_pass[found[0]] += n
    leaf[names[-1]] += n
    child[(found[0], names[found[1] + 1] if found[1] + 1 < len(names) else '(self)')] += n
print('scan samples', total)
for k, v in per_pass.most_common(): print(f'{v:6d} {100 * v / total:5.1f}% {k}')
print('-- first callee under each pass')
for k, v in child.most_common(30): print(f'{v:6d} {100 * v / total:5.1f}% {k}')
print('-- leaf')
for k, v in leaf.most_common(20): print(f'{v:6d} {100 * v / total:5.1f}% {k}')
