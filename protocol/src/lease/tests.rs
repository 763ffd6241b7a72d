use super::*;

#[test]
fn seed_line_parses() {
    let l =
        Line::parse(b"1633703346 00:1c:42:0f:b1:c7 192.168.222.244 hostname1 01:00:1c:42:0f:b1:c7");
    assert!(matches!(l, Ok(Line::Lease(Lease::V4(_)))));
}
