"""Course week 3, "Object detection": box arithmetic, sliding windows, and pretrained detectors."""
