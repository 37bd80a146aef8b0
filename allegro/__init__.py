"""Framework-free Allegro REST client: the only code in the product that speaks HTTP to Allegro.

Layers: ``config`` (environments, scopes), ``errors`` (typed failures), ``governor`` (shared rate
budget), ``transport`` (one pooled httpx client, retries, media types, trace ids), ``oauth``
(PKCE, token endpoint), ``client`` (per-account facade) and ``api.*`` (one module per API area).
"""
