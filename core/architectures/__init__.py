"""Course week 2, "Deep convolutional models: case studies": the classic networks, ResNets,
Inception, MobileNet and EfficientNet, and classifying with them.
"""
