//! Gratuitous ARP and unsolicited neighbour advertisements. Being written.
