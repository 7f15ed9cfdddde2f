# Sourced by ./hydra and .ci/run: exports JAVA_HOME pointing at a JDK 25 or newer, or exits with one line.
hydra_java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'; }
hydra_find_jdk() {
  local c best="" bestv=0 v
  for c in "${JAVA_HOME:-}" /usr/lib/jvm/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/*; do
    [ -n "$c" ] && [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    v=$(hydra_java_major "$c"); [ -n "$v" ] || continue
    if [ "$c" = "${JAVA_HOME:-}" ] && [ "$v" -ge 25 ]; then best=$c; break; fi
    if [ "$v" -ge 25 ] && [ "$v" -gt "$bestv" ]; then best=$c; bestv=$v; fi
  done
  if [ -z "$best" ]; then
    echo "hydra: no JDK 25 or newer found; install one and set JAVA_HOME to it (e.g. export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64)" >&2
    exit 1
  fi
  export JAVA_HOME="$best"
  export PATH="$JAVA_HOME/bin:$PATH"
}
hydra_find_jdk
if ! command -v mvn >/dev/null 2>&1; then
  echo "hydra: Maven (mvn) is not on PATH; install Maven 3.8 or newer (e.g. apt-get install maven)" >&2
  exit 1
fi
