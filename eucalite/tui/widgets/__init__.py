"""One widget per dashboard view, plus the confirm dialog."""
