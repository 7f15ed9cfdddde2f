# Sourced on the other machine by a bundle's script (gpu-remote.sh, cpu-remote.sh) with `here` its directory:
# unpacks the bundle's runtime once per archive (under $TMPDIR, else /tmp) and sets `java` to its launcher.
jre=${TMPDIR:-/tmp}/hydra-jre-$(stat -c %s "$here/jre.tar.xz")
[ -x "$jre/jre/bin/java" ] || { mkdir -p "$jre" && tar -C "$jre" -xJf "$here/jre.tar.xz"; } || exit 1
java="$jre/jre/bin/java"
