"""The files the stages hand each other: one module per file, each a typed record with ``read`` and ``write``."""
