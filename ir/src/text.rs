//! Textual form of the IR (printer and parser). See `print` and `parse`.
