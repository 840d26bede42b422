"""Course week 1, "Foundations of convolutional neural networks": convolution arithmetic and
what a layer costs."""
