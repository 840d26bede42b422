#!/usr/bin/env bash
# The GPU pass, on a machine with a CUDA GPU and its own PyTorch:
#   bash scripts/device_check.sh [all|tests|benchmarks] [pytest arguments...]
# installs the wheels that scripts/device_wheels.sh gathered in .whl/ (if any) into a
# temporary folder, runs every test but the browser tests with the GPU visible, then every
# benchmark but start-up (which needs Chromium) on CUDA. Logs go to $OUT (default:
# device-results/). `tests -m gpu` runs only the GPU tests.
set -uo pipefail
cd "$(dirname "$0")/.."
PART="${1:-all}"
shift || true
OUT="${OUT:-$PWD/device-results}"
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/cnnlab-site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/cnnlab-site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import sys, torch, torchvision; print('python', sys.version.split()[0], '| torch', torch.__version__,
'| torchvision', torchvision.__version__, '| CUDA', torch.version.cuda, '|', torch.cuda.get_device_name(0))"
} 2>&1 | tee "$OUT/device.txt"
status=0
if [ "$PART" = all ] || [ "$PART" = tests ]; then
  python3 -m pytest -m "not e2e" --ignore=tests/e2e -p no:cacheprovider -q -rs --durations=15 "$@" 2>&1 \
    | tee "$OUT/tests.log"
  status=$(( status || PIPESTATUS[0] ))
fi
if [ "$PART" = all ] || [ "$PART" = benchmarks ]; then
  python3 -m benchmarks --device cuda conv_page detection sliding_windows segmentation faces style 2>&1 | tee "$OUT/benchmarks.log"
  status=$(( status || PIPESTATUS[0] ))
fi
exit "$status"
