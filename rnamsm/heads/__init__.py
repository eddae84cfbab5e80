"""RNA-MSM downstream heads: base pairs (SS) and relative solvent accessibility (RSA), their file
formats (official and ours), post-processing, structure files and the prediction/training CLIs."""
