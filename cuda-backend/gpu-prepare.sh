#!/usr/bin/env bash
# Run HERE (a machine with Java and Maven) before carrying the tree to a GPU machine: builds the jars and packs a
# Java runtime plus the CLI's runtime class path (no JavaFX, no test libraries) into .gpu/ with the shared
# gpu-pack.sh. Then, on the GPU machine (CUDA driver, nvcc, PyTorch, no Java), run cuda-backend/gpu-check.sh.
#
#   cuda-backend/gpu-prepare.sh
set -euo pipefail
top=$(git rev-parse --show-toplevel)
cd "$top"
pack=${GPU_PACK:-}
for c in "$top/../shared/tools/gpu-pack.sh" "$top/../../shared/tools/gpu-pack.sh" /work/shared/tools/gpu-pack.sh; do
  [ -z "$pack" ] && [ -x "$c" ] && pack=$c
done
[ -n "$pack" ] || { echo "gpu-pack.sh not found (set GPU_PACK=/path/to/gpu-pack.sh)" >&2; exit 1; }
mvn -q -o -B -pl app -am package dependency:build-classpath -DskipTests \
    -Dmdep.outputFile=target/runtime-classpath.txt -Dmdep.includeScope=runtime
jars=()
# OpenBLAS's natives (20 MB) stay here: on the GPU machine the CPU backend falls back to its pure-Java GEMM.
while IFS= read -r j; do
  case "$(basename "$j")" in
    openblas-*-linux-x86_64.jar|javafx-*|controlsfx-*|junit-*|opentest4j-*|apiguardian-*|testfx-*|org.osgi.*|hamcrest-*|assertj-*|openjfx-monocle-*) ;;
    *) jars+=("$j") ;;
  esac
done < <(tr ':' '\n' < app/target/runtime-classpath.txt)
jars+=("app/target/app-0.1.0-SNAPSHOT.jar")
# In a git worktree .git is a file: let the pack script find info/exclude where git keeps it.
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
sed "s#\.git/info/exclude#\"\$(git rev-parse --git-path info/exclude)\"#g" "$pack" > "$tmp"
bash "$tmp" "${jars[@]}"
ls .gpu/lib
