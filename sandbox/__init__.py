"""A local, stateful simulator of Allegro's REST API and OAuth server (see docs/simulator.md)."""
