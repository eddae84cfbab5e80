"""Training heads on frozen RNA-MSM features (``rnamsm train-head``): beyond the official code.

Modules by concept: :mod:`~rnamsm.training.examples` (labelled examples and their split),
:mod:`~rnamsm.training.stockholm_labels` (examples from Stockholm seeds), :mod:`~rnamsm.training.options`,
:mod:`~rnamsm.training.losses`, :mod:`~rnamsm.training.loop` (optimisation with early stopping),
:mod:`~rnamsm.training.threshold` (the SS head's recorded threshold), :mod:`~rnamsm.training.trainers`
(an SS or RSA head from examples) and :mod:`~rnamsm.training.train_head` (the command's library function).
"""
