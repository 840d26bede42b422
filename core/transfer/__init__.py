"""Course week 2, "Transfer learning" and "Data augmentation": a pretrained network reused for the
user's own classes.
"""
