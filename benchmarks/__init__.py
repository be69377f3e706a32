"""StampLib's accuracy, latency and scale benchmarks with baselines."""
