//go:build ignore

// Optional extras: TCP retransmits and packet drops by reason, per socket cgroup, from
// the tcp:tcp_retransmit_skb and skb:kfree_skb tracepoints. Tracepoint fields are read
// at offsets user space takes from the tracefs format files (they move between
// kernels: kfree_skb gained rx_sk in 6.12). Finding a socket's cgroup needs kernel
// structs, relocated with CO-RE, so unlike netcount.c this object needs kernel BTF.

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

// Only the members used, relocated against the running kernel's BTF.
struct kernfs_node {
	__u64 id;
} __attribute__((preserve_access_index));
struct cgroup {
	struct kernfs_node *kn;
} __attribute__((preserve_access_index));
struct sock_cgroup_data {
	struct cgroup *cgroup;
} __attribute__((preserve_access_index));
struct sock {
	struct sock_cgroup_data sk_cgrp_data;
} __attribute__((preserve_access_index));
struct sk_buff {
	struct sock *sk;
} __attribute__((preserve_access_index));

// Field offsets in the tracepoint records, set by the loader from tracefs. A negative
// offset means the kernel has no such field.
volatile const __s32 retransmit_skaddr_off = -1;
volatile const __s32 kfree_skbaddr_off = -1;
volatile const __s32 kfree_rx_sk_off = -1;
volatile const __s32 kfree_reason_off = -1;

struct drop_key {
	__u64 cgroup;
	__u32 reason;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} retransmits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct drop_key);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline __u64 sock_cgroup(struct sock *sk)
{
	if (!sk)
		return 0;
	return BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
}

static __always_inline void *read_ptr(void *ctx, __s32 off)
{
	void *p = 0;
	if (off >= 0)
		bpf_probe_read_kernel(&p, sizeof(p), ctx + off);
	return p;
}

static __always_inline void bump(void *map, void *key)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(map, key);
	if (v)
		*v += 1;
	else
		bpf_map_update_elem(map, key, &one, BPF_NOEXIST);
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int count_retransmit(void *ctx)
{
	__u64 id = sock_cgroup(read_ptr(ctx, retransmit_skaddr_off));
	bump(&retransmits, &id);
	return 0;
}

SEC("tracepoint/skb/kfree_skb")
int count_drop(void *ctx)
{
	struct drop_key key = {};
	struct sk_buff *skb = read_ptr(ctx, kfree_skbaddr_off);
	struct sock *sk = 0;
	if (skb)
		sk = BPF_CORE_READ(skb, sk);
	// On receive, the skb has no socket yet; rx_sk names the one it was meant for.
	if (!sk)
		sk = read_ptr(ctx, kfree_rx_sk_off);
	key.cgroup = sock_cgroup(sk);
	if (kfree_reason_off >= 0)
		bpf_probe_read_kernel(&key.reason, sizeof(key.reason), ctx + kfree_reason_off);
	bump(&drops, &key);
	return 0;
}

char __license[] SEC("license") = "GPL";
