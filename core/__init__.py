"""CNN Lab's logic: one module per course topic, importable and testable without Streamlit.

Every formula here is checked against PyTorch in ``tests/unit``. Modules import torch
themselves, so importing ``core`` alone stays cheap.
"""
