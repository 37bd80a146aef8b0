"""Per-resource sync flows: fetch through ``allegro.api``, write through ``<app>/sync.py``."""
