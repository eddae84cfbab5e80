"""``rnamsm doctor``: what a workflow run with a given config needs on this node (programs, weights,
databases, sheets, CUDA), checked one line at a time (:mod:`rnamsm.doctor.checks`)."""
