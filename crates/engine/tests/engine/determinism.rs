//! Determinism: same stream, same events and hash; snapshot + replay equals a straight run.
