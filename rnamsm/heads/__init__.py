"""RNA-MSM downstream heads: base pairs (SS) and relative solvent accessibility (RSA), their file
formats (official and ours), post-processing, and the prediction commands (``cli``)."""
