//! Property tests: random command streams keep every invariant.
