"""The run store: one SQLite file of runs and their metrics (:mod:`labcore.store.db`), its schema
history and process identity (:mod:`labcore.store.schema`), the sink that records a training run
through a writer thread (:mod:`labcore.store.sink`) and the compressed metric blobs
(:mod:`labcore.store.blobs`).

May import: :mod:`labcore.core`, :mod:`labcore.data` (the lab's home folder) and
:mod:`labcore.spec` (codecs). Never training, nets or figures: a stored run is data.
"""
