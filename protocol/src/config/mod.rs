//! keepalived.conf-style configuration. Being written.
