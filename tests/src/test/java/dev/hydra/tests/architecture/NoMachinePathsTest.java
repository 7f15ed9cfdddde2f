package dev.hydra.tests.architecture;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * No source, script or doc of the repository names a path of a build machine: data and peers come from
 * options, environment variables or paths relative to the repository. Walks the repository from the
 * tests module's parent, skipping build outputs and version-control data.
 */
class NoMachinePathsTest {
    /** Roots of the machines this project was built on, assembled so that this file does not hold them. */
    static final List<String> MACHINE_ROOTS = List.of("/" + "work" + "/", "/" + "farm" + "/");

    @Test
    void noFileOfTheRepositoryNamesABuildMachinePath() throws IOException {
        Path root = Path.of("").toAbsolutePath().getParent();
        assertThat(root.resolve("pom.xml")).exists();
        try (Stream<Path> files = Files.walk(root)) {
            List<String> offending = files.filter(Files::isRegularFile)
                    .filter(p -> !root.relativize(p).toString().matches("(.*/)?(target|\\.git|\\.jqwik-database|\\.gpu-carry|\\.cifuzz-corpus)(/.*)?"))
                    .filter(p -> p.toString().matches(".*\\.(java|md|sh|xml|json|cu|properties|txt|py)$") || p.getFileName().toString().equals("hydra"))
                    .filter(p -> MACHINE_ROOTS.stream().anyMatch(read(p)::contains))
                    .map(p -> root.relativize(p).toString()).toList();
            assertThat(offending).isEmpty();
        }
    }

    private static String read(Path p) {
        try {
            return new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
