package dev.hydra.config;

import dev.hydra.HydraException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Tuning properties are read strictly: a whole number in range, or a one-line error naming the property. */
class JvmPropertiesTest {
    private static final String NAME = "hydra.test.jvmPropertiesTest";

    @AfterEach
    void clear() {
        System.clearProperty(NAME);
    }

    @Test
    void anUnsetOrBlankPropertyGivesTheDefaultAndAWholeNumberInRangeIsRead() {
        assertThat(JvmProperties.wholeNumber(NAME, 500, 0, 1000)).isEqualTo(500);
        System.setProperty(NAME, "  ");
        assertThat(JvmProperties.wholeNumber(NAME, 500, 0, 1000)).isEqualTo(500);
        System.setProperty(NAME, " 0 ");
        assertThat(JvmProperties.wholeNumber(NAME, 500, 0, 1000)).isZero();
        System.setProperty(NAME, "1000");
        assertThat(JvmProperties.wholeNumber(NAME, 500, 0, 1000)).isEqualTo(1000);
    }

    @Test
    void aValueThatIsNotAWholeNumberInRangeIsAnErrorNamingTheProperty() {
        for (String bad : new String[] {"abc", "1.5", "-1", "1001", "99999999999999999999"}) {
            System.setProperty(NAME, bad);
            assertThatThrownBy(() -> JvmProperties.wholeNumber(NAME, 500, 0, 1000)).as(bad)
                    .isInstanceOf(HydraException.class)
                    .hasMessage("-D" + NAME + "=" + bad + ": must be a whole number from 0 to 1000");
        }
    }
}
