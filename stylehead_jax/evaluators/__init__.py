"""Evaluators, one type per module, registered by `config.evals.<name>.type` (base.py)."""
