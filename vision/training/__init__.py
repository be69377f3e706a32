"""Training the StampLib stamp model on the synthetic world."""
