//! Criterion benchmarks of coxa live in `benches/`; this library is empty.
