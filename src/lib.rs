//! Integration tests and examples live in `tests/` and `examples/`.
