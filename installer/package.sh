#!/usr/bin/env bash
# Packages MemPlan as a self-contained app image (jlink runtime + memplan.jar) and, where fakeroot/dpkg-deb exist,
# a .deb. Run from the repository root after `mvn -q -DskipTests package`:
#
#   installer/package.sh            # app image in installer/target/image/MemPlan
#   installer/package.sh --deb      # also installer/target/dist/memplan_<version>_amd64.deb
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jar=app/target/memplan.jar
[ -f "$jar" ] || { echo "error: $jar not found; run 'mvn -q -DskipTests package' first" >&2; exit 2; }
version=$(sed -n 's:.*<version>\([0-9][^<]*\)</version>.*:\1:p' pom.xml | head -1 | sed 's/-SNAPSHOT//')
out=installer/target
rm -rf "$out/input" "$out/image" "$out/dist"
mkdir -p "$out/input" "$out/dist"
cp "$jar" "$out/input/"
# JavaFX is inside memplan.jar (class path mode), so the runtime needs only the JDK modules it uses.
# The heap follows the machine (3/4 of its memory) instead of a fixed -Xmx: big models need more on big machines.
heap='-XX:MaxRAMPercentage=75'
maintainer="${MEMPLAN_MAINTAINER:-MemPlan developers <memplan@example.org>}"
modules=java.base,java.desktop,java.logging,java.management,java.prefs,java.xml,java.sql,jdk.unsupported,jdk.management,java.scripting
jpackage --type app-image --name MemPlan --app-version "$version" --input "$out/input" --main-jar memplan.jar \
  --main-class memplan.app.Main --add-modules "$modules" --java-options "$heap" --dest "$out/image"
echo "app image: $out/image/MemPlan (run $out/image/MemPlan/bin/MemPlan)"
if [ "${1:-}" = --deb ]; then
  jpackage --type deb --name memplan --app-version "$version" --input "$out/input" --main-jar memplan.jar \
    --main-class memplan.app.Main --add-modules "$modules" --java-options "$heap" --linux-package-deps libgtk-3-0 \
    --linux-deb-maintainer "$maintainer" --vendor MemPlan \
    --linux-shortcut --dest "$out/dist"
  ls -la "$out/dist"
fi
