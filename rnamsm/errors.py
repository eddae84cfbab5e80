"""The error type that the command line turns into a one-line message."""


class RnamsmError(Exception):
    """A problem with the user's input or environment, reported as one line without a traceback.

    The message names the file, the record and the problem, e.g.
    ``queries.fa: record 'tRNA-1': invalid character 'Z' at position 12``.
    """
