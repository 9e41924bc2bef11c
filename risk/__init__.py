"""The pure risk engine: NumPy and the standard library only, no Qt, no I/O, no clock."""
