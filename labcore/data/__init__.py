"""The data: embedded 2-D sets, digits and MNIST-1D (:mod:`labcore.data.datasets`, with their
:class:`~labcore.data.datasets.DataSpec`), device-resident tensors and index batching
(:mod:`labcore.data.tensors`), and the image sets of the full models (:mod:`labcore.data.image_sets`
says what they are without torch; :mod:`labcore.data.images` loads them).

Owns: generating, caching and loading data; never downloads unless asked. May import:
:mod:`labcore.core` only.
"""
