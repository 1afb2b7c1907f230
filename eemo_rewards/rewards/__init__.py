"""One module per reward family; each exposes a configurable class and a ready instance."""
