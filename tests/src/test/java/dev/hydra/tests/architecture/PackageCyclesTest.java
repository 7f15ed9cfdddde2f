package dev.hydra.tests.architecture;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.lang.ArchRule;
import dev.hydra.HydraException;
import dev.hydra.cli.HydraCli;
import dev.hydra.gpu.CudaBackend;
import dev.hydra.tests.architecture.cyclefixture.first.First;
import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.util.stream.Stream;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The top-level packages of the main classes of hydra-vec, hydra-gpu and hydra-cli form no cycle (the
 * bench module is one package that nothing depends on, so Maven's module graph already keeps it out of
 * any cycle). Sub-packages count with their parent (dev.hydra.cli.plot is part of "cli").
 */
class PackageCyclesTest {

    @Test
    void mainPackagesAreFreeOfCycles() {
        JavaClasses main = new ClassFileImporter().importLocations(
                Stream.of(HydraException.class, CudaBackend.class, HydraCli.class).map(PackageCyclesTest::location).toList());
        assertThat(main.stream().map(c -> c.getPackageName()).distinct())
                .contains("dev.hydra.backend", "dev.hydra.kernels", "dev.hydra.layer", "dev.hydra.mixer", "dev.hydra.reference",
                        "dev.hydra.gpu", "dev.hydra.cli");
        slices().matching("dev.hydra.(*)..").should().beFreeOfCycles().check(main);
    }

    @Test
    void theRuleFailsOnACycle() {
        JavaClasses fixture = new ClassFileImporter().importPackages(First.class.getPackageName().replace(".first", ""));
        ArchRule rule = slices().matching("dev.hydra.tests.architecture.cyclefixture.(*)..").should().beFreeOfCycles();
        assertThatThrownBy(() -> rule.check(fixture)).isInstanceOf(AssertionError.class).hasMessageContaining("Cycle detected");
    }

    private static Location location(Class<?> c) {
        try {
            return Location.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
