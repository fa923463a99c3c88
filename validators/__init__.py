"""Header and value mapping, normalisers and pandera schemas (installed as forecourt.validators)."""
