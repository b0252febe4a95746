"""pyvmomi helpers every service may use: connecting, reading, waiting, faults."""
