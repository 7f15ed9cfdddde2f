# Sourced by scripts/gpu-run.sh and scripts/cpu-run.sh (JAVA_HOME set): bundle_jre BUNDLE MODULES
# puts a jlink-ed runtime of MODULES in BUNDLE/jre.tar.xz, made again only when MODULES change, and the script
# that unpacks it on the other machine (bundle-java.sh). The runtime travels as an xz archive of an uncompressed
# image: xz packs it to a third, and jlink's own zip compression would leave xz little to do.
HYDRA_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bundle_jre() {
    local bundle=$1 modules=$2 tmp
    if [ "$(cat "$bundle/jre.modules" 2>/dev/null)" != "$modules zip-0" ]; then
        tmp=$(mktemp -d)
        "$JAVA_HOME/bin/jlink" --add-modules "$modules" \
            --strip-debug --no-man-pages --no-header-files --compress=zip-0 --output "$tmp/jre"
        strip --strip-unneeded "$tmp/jre/lib/server/libjvm.so" || true
        tar -C "$tmp" -cJf "$bundle/jre.tar.xz" jre
        echo "$modules zip-0" > "$bundle/jre.modules"
        rm -rf "$tmp"
    fi
    cp "$HYDRA_SCRIPTS/bundle-java.sh" "$bundle/"
}
