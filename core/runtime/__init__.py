"""What every page runs on: the device, memory budgets, latency measurement, jobs, errors, images,
weights and example photos.
"""
