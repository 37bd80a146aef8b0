"""One module per Allegro API area; each function takes an ``AllegroClient`` first."""
