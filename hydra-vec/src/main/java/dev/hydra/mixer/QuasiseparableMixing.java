package dev.hydra.mixer;

import dev.hydra.math.ChunkedScan;
import dev.hydra.math.QuasiseparableMatrix;
import dev.hydra.math.ScanInputs.Direction;
import dev.hydra.math.ShiftAddDiagonal;

/**
 * Quasiseparable: Hydra's steps 4-6 with one group of state size H*qk_dim and the same B, C in both
 * directions; structured by the chunked SSD scans, materialized by {@link QuasiseparableMatrix}.
 */
final class QuasiseparableMixing implements MatrixMixing {
    private final int chunkSize;

    QuasiseparableMixing(int chunkSize) {
        this.chunkSize = chunkSize;
    }

    @Override
    public double[] mix(MixerOperands o) {
        return ShiftAddDiagonal.apply(o.scan(), ChunkedScan.scan(o.scan(), Direction.FORWARD, chunkSize),
                ChunkedScan.scan(o.scan(), Direction.BACKWARD, chunkSize), o.delta());
    }

    @Override
    public double[] materialize(MixerOperands o) {
        return QuasiseparableMatrix.materialize(o.scan(), o.delta());
    }
}
