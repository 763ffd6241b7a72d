//! Tests of the VRRP wire format.
use super::*;

#[test]
fn constants() {
    assert_eq!(HEADER_LEN, 8);
    assert_eq!(MAX_PACKET_LEN, 1448);
}
