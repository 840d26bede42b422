"""Course week 4, "Neural style transfer" and "What are deep ConvNets learning?"."""
