package dev.hydra.spark;

import dev.hydra.HydraException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A model directory at any path Hadoop's FileSystem reads (local, {@code file:}, {@code hdfs:}, {@code s3a:}
 * with its jars): checked on the driver, and made local on an executor (non-local directories are copied
 * once to a temporary directory, removed when the JVM exits).
 */
final class ModelFiles {
    private ModelFiles() {}

    /** Fails in one line unless the directory holds config.json, model.safetensors and, for texts, tokenizer.json. */
    static void require(String modelPath, boolean needsTokenizer, Configuration conf) {
        if (modelPath == null || modelPath.isBlank()) throw new HydraException("modelPath is not set");
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(modelPath);
        try {
            FileSystem fs = dir.getFileSystem(conf);
            if (!fs.exists(dir) || !fs.getFileStatus(dir).isDirectory()) throw new HydraException(modelPath + ": no such model directory");
            for (String file : needsTokenizer ? new String[] {"config.json", "model.safetensors", "tokenizer.json"}
                    : new String[] {"config.json", "model.safetensors"}) {
                org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(dir, file);
                if (!fs.exists(p) || !fs.getFileStatus(p).isFile()) throw new HydraException(modelPath + ": the model directory has no " + file);
            }
        } catch (IOException e) {
            throw new HydraException(modelPath + ": cannot read the model directory (" + e.getMessage() + ")");
        }
    }

    /**
     * The directory as a local path: itself when it is on the local file system (a path without a scheme
     * is on Hadoop's default file system, as {@link #require} checked it), else a fresh local copy of its files.
     */
    static Path local(String modelPath, Configuration conf) {
        try {
            org.apache.hadoop.fs.Path src = new org.apache.hadoop.fs.Path(modelPath);
            FileSystem fs = src.getFileSystem(conf);
            URI uri = fs.makeQualified(src).toUri();
            if ("file".equals(uri.getScheme())) return Path.of(uri);
            Path target = Files.createTempDirectory("hydra-model-");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(target)));
            for (var status : fs.listStatus(src))
                if (status.isFile())
                    fs.copyToLocalFile(false, status.getPath(), new org.apache.hadoop.fs.Path(target.resolve(status.getPath().getName()).toUri()), true);
            return target;
        } catch (IOException e) {
            throw new HydraException(modelPath + ": cannot copy the model directory to this executor (" + e.getMessage() + ")");
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort at exit: the directory is under java.io.tmpdir
        }
    }
}
