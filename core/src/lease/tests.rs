use super::*;

#[test]
fn empty_table() {
    let mut slots = [Slot::EMPTY; 4];
    let t = LeaseTable::new(&mut slots);
    assert!(t.is_empty());
    assert_eq!(t.capacity(), 4);
}
