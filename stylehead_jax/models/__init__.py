"""One network per file; each docstring names its paper symbol."""
