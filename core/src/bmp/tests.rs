//! Unit tests live in core/tests/bmp_*.rs.
