package dev.hydra.gpu;

import dev.hydra.HydraException;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

import java.io.IOException;
import java.io.InputStream;

/**
 * The one process-wide CUDA setup: JCuda's natives, the driver, device 0's primary context and the
 * kernel fatbin packaged by the build. {@link #unavailableReason()} says in one line why it cannot run.
 */
final class CudaDriver {
    static final String FATBIN = "/dev/hydra/gpu/hydra.fatbin";

    private static String reason;
    private static boolean probed;
    private static CUcontext context;
    private static byte[] fatbin;
    private static String deviceName;

    private CudaDriver() {}

    /** Null when the CUDA backend can run in this process, else why not. */
    static synchronized String unavailableReason() {
        if (!probed) {
            reason = probe();
            probed = true;
        }
        return reason;
    }

    private static String probe() {
        try (InputStream in = CudaDriver.class.getResourceAsStream(FATBIN)) {
            if (in == null) return "no CUDA kernels in this build (hydra-gpu was built without nvcc)";
            fatbin = in.readAllBytes();
        } catch (IOException e) {
            return "cannot read the CUDA kernels " + FATBIN + ": " + e.getMessage();
        }
        try {
            JCudaDriver.setExceptionsEnabled(false);
            int rc = JCudaDriver.cuInit(0);
            if (rc == CUresult.CUDA_ERROR_NO_DEVICE) return "no CUDA device";
            if (rc != CUresult.CUDA_SUCCESS) return "CUDA driver failed to initialise: " + CUresult.stringFor(rc);
            int[] count = new int[1];
            JCudaDriver.cuDeviceGetCount(count);
            if (count[0] == 0) return "no CUDA device";
            CUdevice dev = new CUdevice();
            check(JCudaDriver.cuDeviceGet(dev, 0), "cuDeviceGet");
            byte[] name = new byte[256];
            JCudaDriver.cuDeviceGetName(name, name.length, dev);
            deviceName = new String(name).trim().replace("\0", "");
            CUcontext ctx = new CUcontext();
            check(JCudaDriver.cuDevicePrimaryCtxRetain(ctx, dev), "cuDevicePrimaryCtxRetain");
            context = ctx;
            return null;
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            return "JCuda natives or the CUDA driver library could not be loaded (" + lastCause(e) + ")";
        } catch (HydraException e) {
            return e.getMessage();
        } catch (RuntimeException e) {
            return "CUDA driver: " + e;
        }
    }

    /** JCuda's load error is a page of nested traces; its last "UnsatisfiedLinkError:" line says why. */
    private static String lastCause(Throwable e) {
        String why = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
        for (String line : String.valueOf(e.getMessage()).lines().toList()) {
            int at = line.indexOf("UnsatisfiedLinkError: ");
            if (at >= 0) why = line.substring(at + "UnsatisfiedLinkError: ".length()).strip();
        }
        return why;
    }

    static CUcontext context() {
        String why = unavailableReason();
        if (why != null) throw new HydraException("backend 'gpu' cannot run here: " + why);
        return context;
    }

    static byte[] fatbin() {
        context();
        return fatbin;
    }

    static String deviceName() {
        context();
        return deviceName;
    }

    static void check(int rc, String what) {
        if (rc != CUresult.CUDA_SUCCESS) throw new HydraException("gpu: " + what + " failed: " + CUresult.stringFor(rc));
    }
}
