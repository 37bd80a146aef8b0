"""Models of the Shipping app (added by the issue that builds this domain)."""
