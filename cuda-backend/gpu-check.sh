#!/usr/bin/env bash
# GPU proof of the CUDA backend. Runs on a GPU machine (NVIDIA driver, CUDA, nvcc, PyTorch; no Java needed) from the
# repository root, with a Java runtime and the jars packed into .gpu/ beforehand (cuda-backend/gpu-prepare.sh,
# which uses ../shared/tools/gpu-pack.sh). About 8 minutes in all; every part is time-boxed:
#
#   1. OpCheck: every op type's forward and backward (the ONNX-imported ops included, in their variants), the
#      optimizers and the codecs on the GPU against the CPU reference kernels (max abs / rel error per op and the
#      tolerance)                                                                                (<= 90 s)
#   2. memplan run for the zoo under each planner at 50% of the baseline peak, on --backend cuda (<= 270 s)
#   3. pytorch_baseline.py: the same networks in PyTorch (eager, checkpoint, save_on_cpu)        (<= 150 s)
#   4. the combined table in docs/gpu-results.md (date, device from nvidia-smi)
#
#   cuda-backend/gpu-check.sh                 # everything
#   PARTS="1 4" cuda-backend/gpu-check.sh     # a subset
#
# Knobs (environment): JAVA, CP, PARTS, ZOO ("model:batch[:dims]" items), PLANNERS, BUDGET, ITERATIONS, RUN_TIMEOUT,
# ZOO_BUDGET, OPCHECK_TIMEOUT, TORCH_BUDGET. Raw outputs go to gpu-check-out/ (and to $OUT when it is set).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
JAVA=${JAVA:-.gpu/java}
CP=${CP:-.gpu/lib/*}
PARTS=${PARTS:-1 2 3 4}
ZOO=${ZOO:-resnet50:64 vgg16:64 bert-base:32:T=128 gpt2-small:8:T=1024}
PLANNERS=${PLANNERS:-baseline share swap recompute-optimal hybrid}
BUDGET=${BUDGET:-50%}
ITERATIONS=${ITERATIONS:-3}
RUN_TIMEOUT=${RUN_TIMEOUT:-45}
ZOO_BUDGET=${ZOO_BUDGET:-270}
OPCHECK_TIMEOUT=${OPCHECK_TIMEOUT:-90}
TORCH_BUDGET=${TORCH_BUDGET:-150}
RES=gpu-check-out
mkdir -p "$RES"
has() { [[ " $PARTS " == *" $1 "* ]]; }
log() { echo "[gpu-check $(date +%H:%M:%S)] $*"; }

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$RES/device.txt" 2>/dev/null \
  || echo "nvidia-smi failed" > "$RES/device.txt"
nvidia-smi > "$RES/nvidia-smi.txt" 2>&1 || true
date -u +"%Y-%m-%d %H:%M UTC" > "$RES/date.txt"
log "device: $(head -1 "$RES/device.txt")"
[ -x "$JAVA" ] || { log "no Java runtime at $JAVA: run cuda-backend/gpu-prepare.sh where Java is, and carry .gpu/"; }

if has 1; then
  log "1/4 OpCheck (timeout ${OPCHECK_TIMEOUT}s)"
  timeout "$OPCHECK_TIMEOUT" "$JAVA" -cp "$CP" memplan.cuda.OpCheck --json "$RES/opcheck.json" > "$RES/opcheck.txt" 2>&1
  echo $? > "$RES/opcheck.rc"
  tail -5 "$RES/opcheck.txt"
fi

if has 2; then
  log "2/4 memplan run: zoo x planners (each <= ${RUN_TIMEOUT}s, all <= ${ZOO_BUDGET}s)"
  start=$(date +%s)
  for item in $ZOO; do
    IFS=: read -r model batch dims <<< "$item"
    dimargs=()
    [ -n "${dims:-}" ] && for d in ${dims//,/ }; do dimargs+=(--dim "$d"); done
    for planner in $PLANNERS; do
      tag="$model-$planner"
      left=$(( ZOO_BUDGET - ($(date +%s) - start) ))
      if [ "$left" -le 5 ]; then echo '{"skipped":"time budget"}' > "$RES/run-$tag.json"; continue; fi
      t=$(( left < RUN_TIMEOUT ? left : RUN_TIMEOUT ))
      budget=()
      [ "$planner" != baseline ] && budget=(--budget "$BUDGET")
      timeout "$t" "$JAVA" -cp "$CP" memplan.app.Main run "$model" --batch "$batch" "${dimargs[@]}" --planner "$planner" \
        "${budget[@]}" --backend cuda --iterations "$ITERATIONS" --json > "$RES/run-$tag.json" 2> "$RES/run-$tag.err"
      rc=$?
      echo "$rc" > "$RES/run-$tag.rc"
      log "  $tag: rc=$rc $( [ $rc = 124 ] && echo '(timed out)')"
    done
  done
fi

if has 3; then
  log "3/4 PyTorch baseline (budget ${TORCH_BUDGET}s)"
  timeout $(( TORCH_BUDGET + 60 )) python3 cuda-backend/pytorch_baseline.py --time-budget "$TORCH_BUDGET" \
    --json "$RES/pytorch.json" > "$RES/pytorch.txt" 2>&1
  echo $? > "$RES/pytorch.rc"
  tail -3 "$RES/pytorch.txt"
fi

if has 4; then
  log "4/4 docs/gpu-results.md"
  python3 cuda-backend/gpu_report.py "$RES" docs/gpu-results.md
fi

if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then
  cp -r "$RES" "$OUT/" 2>/dev/null
  mkdir -p "$OUT/docs" && cp docs/gpu-results.md "$OUT/docs/" 2>/dev/null
fi
log "done"
