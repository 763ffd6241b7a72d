//! Network-namespace harness for Tandem's integration tests. Being written.
