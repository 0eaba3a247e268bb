//go:build ignore

// Per-cgroup network counters: a cgroup_skb ingress/egress pair attached once at the
// cgroup2 root. It uses no CO-RE relocations and no kernel structs, only the stable
// __sk_buff context and helpers, so it loads on kernels without BTF.

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// Field order matches the Go side (Counters in netcount.go).
struct counters {
	__u64 rx_bytes;
	__u64 rx_packets;
	__u64 tx_bytes;
	__u64 tx_packets;
};

// Keyed by the cgroup2 id of the socket's cgroup. Per CPU, so the hot path needs no
// atomics and no cache line bounces; user space sums the CPUs when it reads.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct counters);
} counters SEC(".maps");

static __always_inline void count(struct __sk_buff *skb, int egress)
{
	// The socket's cgroup, not the current task's: ingress runs in softirq on
	// behalf of whatever task the CPU happened to interrupt.
	__u64 id = bpf_skb_cgroup_id(skb);
	struct counters *c = bpf_map_lookup_elem(&counters, &id);
	if (!c) {
		struct counters zero = {};
		// BPF_NOEXIST: another CPU may have created the entry meanwhile.
		bpf_map_update_elem(&counters, &id, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&counters, &id);
		if (!c)
			return; // map full: the packet passes uncounted
	}
	// skb->len starts at the network header here: IP-level bytes, no link header.
	// A GSO super-packet is one skb, as the veth counters in /proc/net/dev see it.
	if (egress) {
		c->tx_bytes += skb->len;
		c->tx_packets += 1;
	} else {
		c->rx_bytes += skb->len;
		c->rx_packets += 1;
	}
}

SEC("cgroup_skb/ingress")
int count_ingress(struct __sk_buff *skb)
{
	count(skb, 0);
	return 1; // always let the packet through
}

SEC("cgroup_skb/egress")
int count_egress(struct __sk_buff *skb)
{
	count(skb, 1);
	return 1;
}

char __license[] SEC("license") = "Dual MIT/GPL";
