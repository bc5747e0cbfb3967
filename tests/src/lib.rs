//! End-to-end tests of coxa live in `tests/` (one binary, `e2e`); this library is empty.
