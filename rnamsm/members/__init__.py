"""A chunk of a family's members run end to end in one process (``rnamsm run-members``)."""
