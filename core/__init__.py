"""CNN Lab's logic: one subpackage per section of the course
(foundations, architectures, transfer, detection, segmentation, faces, style) and ``runtime``
for what they all run on; importable and testable without Streamlit.

Every formula here is checked against PyTorch in ``tests/unit``. Modules import torch
themselves, so importing ``core`` alone stays cheap.
"""
