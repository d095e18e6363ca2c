"""Concrete models for bdprocess: the paper's problems, exact-solution problems and
classic reaction networks. One module per model."""
