//! Value parsers (nom).
