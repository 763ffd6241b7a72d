#!/bin/sh
# Re-captures the keepalived adverts in this directory (run as root from it).
#
# Two network namespaces vw-a and vw-b joined by a veth pair (fixed MAC
# addresses, so the IPv6 link-local source is always fe80::3814:70ff:fec7:faf);
# Debian's keepalived 2.2.7 runs in vw-a with each of v2.conf, v3v4.conf and
# v3v6.conf in turn while tcpdump records VRRP on vw-a0. Each run lasts long
# enough for every instance to become master (keepalived starts them in
# BACKUP) and ends with SIGTERM, so the captures also hold the priority-0
# adverts keepalived sends when it stops. Namespaces and pid files are
# removed afterwards.
set -eu
D=$(pwd)
RUN=$(mktemp -d /tmp/vw-capture.XXXXXX)
cleanup() {
    ip netns del vw-a 2>/dev/null || true
    ip netns del vw-b 2>/dev/null || true
    rm -rf "$RUN"
}
trap cleanup EXIT

ip netns add vw-a
ip netns add vw-b
ip link add vw-a0 netns vw-a address 3a:14:70:c7:0f:af type veth \
    peer name vw-b0 netns vw-b address fe:8f:2a:dd:ed:b0
for n in a b; do
    ip netns exec vw-$n ip link set lo up
    ip netns exec vw-$n ip link set vw-${n}0 up
done
ip netns exec vw-a ip addr add 10.99.0.1/24 dev vw-a0
ip netns exec vw-b ip addr add 10.99.0.2/24 dev vw-b0
sleep 3 # IPv6 duplicate address detection of the link-local addresses

capture() { # NAME SECONDS
    ip netns exec vw-a tcpdump -i vw-a0 -U -w "$RUN/$1.pcap" \
        'ip proto 112 or ip6 proto 112' >"$RUN/$1.tcpdump.log" 2>&1 &
    tp=$!
    sleep 1
    ip netns exec vw-a /usr/sbin/keepalived -n -l -D -f "$D/$1.conf" \
        -p "$RUN/$1.pid" -r "$RUN/$1.vrrp.pid" -c "$RUN/$1.chk.pid" \
        -b "$RUN/$1.bfd.pid" >"$RUN/$1.keepalived.log" 2>&1 &
    kp=$!
    sleep "$2"
    kill -TERM $kp
    wait $kp || true
    sleep 1
    kill -INT $tp
    wait $tp || true
    cp "$RUN/$1.pcap" "$D/$1.pcap"
}

capture v2 10
capture v3v4 5
capture v3v6 6
