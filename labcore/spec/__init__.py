"""What a run is, as data: the choices (:mod:`labcore.spec.choices`), the MLP spec
(:mod:`labcore.spec.mlp`), the full-model spec (:mod:`labcore.spec.model`), the codecs
(:mod:`labcore.spec.codec`: dict, JSON, TOML, URL for every family), the MLP's settings by flat
name in one table (:mod:`labcore.spec.fields`), flat overrides (:mod:`labcore.spec.edit`), twins
(:mod:`labcore.spec.twins`) and the MLP size guard (:mod:`labcore.spec.size`).

Owns: validation (every refusal a SpecError naming the field). May import: :mod:`labcore.core`
and :mod:`labcore.data` (data-set metadata). No torch.
"""
