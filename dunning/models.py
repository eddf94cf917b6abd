"""Models of the dunning app."""
