//! Tokenizer (nom).
