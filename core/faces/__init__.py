"""Course week 4, "Face recognition": MTCNN detection, FaceNet encodings and a one-shot gallery."""
