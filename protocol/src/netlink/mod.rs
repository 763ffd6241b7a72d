//! rtnetlink messages. Being written.
