"""Training: the sync-free probe (:mod:`labcore.train.probe`), the shared loop
(:mod:`labcore.train.loop`), the trainers (:mod:`labcore.train.mlp`, :mod:`labcore.train.image`),
live pictures (:mod:`labcore.train.snapshot`), devices, the sync counter, and the job manager
(:mod:`labcore.train.jobs`), which runs a spec of any registered family.

May import: :mod:`labcore.core`, :mod:`labcore.data`, :mod:`labcore.spec`, :mod:`labcore.nets`.
Never the store, the figures, the families or the CLI.
"""
