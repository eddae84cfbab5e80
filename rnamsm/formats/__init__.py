"""The files the stages hand each other: one module per file, each the only reader and writer of it.

Modules here depend only on the standard library, NumPy and rnamsm's utilities (``errors``,
``atomic``, ``textfile``, ``arrays``, ``checksums``), so the torch-free report environment can use them.
"""
