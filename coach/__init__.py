"""No Bad Parts coach: an offline, real-time IFS-style peer-support coach."""

import os

# numpy's OpenBLAS runs even the coach's small products (a turn's clauses against ~1,600 exemplars, about 1 ms) on a
# thread per core, and those threads spin for a while after each one, on the cores Whisper and llama.cpp need.
# Measured here (2 cores): a safety decision on a long turn took 295 ms of CPU for 170 ms of wall time with them,
# 165 ms for 165 ms without. Set before numpy is first imported (every entry point imports this package first);
# a value the caller set is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
