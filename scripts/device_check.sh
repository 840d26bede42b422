#!/usr/bin/env bash
# The GPU pass, on a machine with a CUDA GPU and its own PyTorch, in at most 8 minutes:
#   bash scripts/device_check.sh [all|tests|benchmarks] [pytest arguments...]
# installs the wheels that scripts/device_wheels.sh gathered in .whl/ (if any) into a
# temporary folder, runs the GPU tests (marker gpu; other pytest arguments replace it),
# then the GPU benchmarks one by one, each under its own time limit. Logs go to $OUT
# (default: device-results/), one per part, and $OUT/timings.txt says how long each part
# took against its limit. DEVICE (default cuda) picks the benchmarks' device.
set -uo pipefail
cd "$(dirname "$0")/.."
PART="${1:-all}"
shift || true
OUT="${OUT:-$PWD/device-results}"
DEVICE="${DEVICE:-cuda}"
mkdir -p "$OUT"
: >"$OUT/timings.txt"
status=0

# name, seconds allowed, command...: the command's output in $OUT/<name>.log, its time in timings.txt
run_part() {
  local name=$1 limit=$2 started=$SECONDS
  shift 2
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
  local rc=${PIPESTATUS[0]}
  printf '%-18s %4d s of %4d s  exit %d\n' "$name" $((SECONDS - started)) "$limit" "$rc" | tee -a "$OUT/timings.txt"
  status=$((status || rc))
}

if compgen -G ".whl/*.whl" >/dev/null; then
  run_part wheels 60 python3 -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/cnnlab-site .whl/*.whl
  export PYTHONPATH="/tmp/cnnlab-site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import sys, torch, torchvision; print('python', sys.version.split()[0], '| torch', torch.__version__,
'| torchvision', torchvision.__version__, '| CUDA', torch.version.cuda)"
} 2>&1 | tee "$OUT/device.txt"
if [ "$PART" = all ] || [ "$PART" = tests ]; then
  [ "$#" -gt 0 ] || set -- -m gpu
  run_part tests 90 python3 -m pytest --ignore=tests/e2e -p no:cacheprovider -q -rs --durations=10 "$@"
fi
if [ "$PART" = all ] || [ "$PART" = benchmarks ]; then
  # seconds each benchmark may take; together with the tests, under 8 minutes
  for entry in style:130 faces:60 detection:45 video:50 segmentation:45 conv_page:35 sliding_windows:25; do
    run_part "bench-${entry%%:*}" "${entry##*:}" python3 -m benchmarks --device "$DEVICE" "${entry%%:*}"
  done
fi
exit "$status"
