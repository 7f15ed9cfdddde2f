#!/usr/bin/env python3
# Writes TileProbe.java: GEMM register tiles of M rows by V vectors (512-bit fp32), x packed depth-major (M floats
# per depth), each tile's KC x 16V block of W sized to 32 KB so that everything stays in L1; prints GFLOP/s per tile.
# Run: python3 tile-probe.py && javac --add-modules jdk.incubator.vector TileProbe.java &&
#      java --add-modules jdk.incubator.vector TileProbe
def kern(M, V):
    acc = ['c%d_%d' % (i, j) for i in range(M) for j in range(V)]
    s = '  static void k%dx%d(float[] x, int kc, float[] p, float[] y) {\n' % (M, V)
    s += '    FloatVector z = FloatVector.zero(F); FloatVector ' + ', '.join(a + ' = z' for a in acc) + ';\n'
    s += '    for (int k = 0, pk = 0, xk = 0; k < kc; k++, pk += %d, xk += %d) {\n' % (16 * V, M)
    s += '      ' + ' '.join('FloatVector w%d = FloatVector.fromArray(F, p, pk + %d);' % (j, 16 * j) for j in range(V)) + '\n'
    s += '      FloatVector a;\n'
    for i in range(M):
        s += '      a = FloatVector.broadcast(F, x[xk + %d]); ' % i + ' '.join('c%d_%d = w%d.fma(a, c%d_%d);' % (i, j, j, i, j) for j in range(V)) + '\n'
    s += '    }\n    z' + ''.join('.add(%s)' % a for a in acc) + '.intoArray(y, 0);\n  }\n'
    return s
shapes = [(6, 2), (8, 3), (7, 3), (6, 4), (5, 4), (6, 3), (4, 4), (4, 5), (4, 6), (12, 2)]
code = 'import jdk.incubator.vector.*;\npublic class TileProbe {\n  static final VectorSpecies<Float> F = FloatVector.SPECIES_512;\n'
code += ''.join(kern(M, V) for M, V in shapes)
code += '  public static void main(String[] args) {\n    float[] x = new float[16 * 1024], p = new float[160 * 256], y = new float[16];\n'
code += '    for (int i = 0; i < x.length; i++) x[i] = (i % 7) * 1e-3f;\n    for (int i = 0; i < p.length; i++) p[i] = (i % 5) * 1e-3f;\n'
code += '    for (int round = 0; round < 3; round++) {\n'
for M, V in shapes:
    kc = 8192 // (16 * V)
    code += ('      { int kc = %d; int reps = (int) (3e9 / (2.0 * 16 * %d * kc)); long t0 = System.nanoTime();'
             ' for (int r = 0; r < reps; r++) k%dx%d(x, kc, p, y); double s = (System.nanoTime() - t0) * 1e-9;'
             ' System.out.printf("%dx%d kc=%d %%.1f GFLOP/s%%n", 2.0 * 16 * %d * kc * reps / s / 1e9); }\n') % (kc, M * V, M, V, M, V, kc, M * V)
code += '    }\n  }\n}\n'
open('TileProbe.java', 'w').write(code)
