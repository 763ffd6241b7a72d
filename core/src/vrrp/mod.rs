//! VRRP state machine (RFC 5798 + keepalived extensions). Being written.
