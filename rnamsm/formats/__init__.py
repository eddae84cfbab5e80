"""The files the stages hand each other: one module per file, each the only reader and writer of it."""
