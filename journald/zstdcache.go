package journald

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// libsystemd (252 on Debian 12) creates a zstd decompression context for every compressed
// field it reads and frees it afterwards. conmon's entries carry a compressed
// _CMDLINE, so reading one entry mapped, zeroed and unmapped a context of about
// 100 KB: more than half of the reader's CPU went to ZSTD_createDCtx. These two
// definitions take the place of libzstd's for libsystemd (the executable comes
// first in symbol lookup) and keep one context to hand out again, reset, so the
// decompression itself is the same call on the same library.
typedef struct ZSTD_DCtx_s ZSTD_DCtx;

typedef struct { const void *src; size_t size; size_t pos; } ZSTD_inBuffer;
typedef struct { void *dst; size_t size; size_t pos; } ZSTD_outBuffer;

static ZSTD_DCtx *(*pe_zstd_create)(void);
static size_t (*pe_zstd_stream)(ZSTD_DCtx *, ZSTD_outBuffer *, ZSTD_inBuffer *);
static size_t (*pe_zstd_free)(ZSTD_DCtx *);
static size_t (*pe_zstd_reset)(ZSTD_DCtx *, int);
static ZSTD_DCtx *pe_zstd_spare;
static unsigned long pe_zstd_reused;
static int pe_zstd_keep = 1; // 0: pass through, as libsystemd alone does (benchmarks)

enum { pe_zstd_reset_session_and_parameters = 3 };

static int pe_zstd_resolve(void) {
	if (pe_zstd_create == NULL) {
		pe_zstd_free = (size_t (*)(ZSTD_DCtx *))dlsym(RTLD_NEXT, "ZSTD_freeDCtx");
		pe_zstd_reset = (size_t (*)(ZSTD_DCtx *, int))dlsym(RTLD_NEXT, "ZSTD_DCtx_reset");
		pe_zstd_stream = (size_t (*)(ZSTD_DCtx *, ZSTD_outBuffer *, ZSTD_inBuffer *))dlsym(RTLD_NEXT, "ZSTD_decompressStream");
		__atomic_store_n(&pe_zstd_create, (ZSTD_DCtx *(*)(void))dlsym(RTLD_NEXT, "ZSTD_createDCtx"), __ATOMIC_RELEASE);
	}
	return pe_zstd_create != NULL && pe_zstd_free != NULL;
}

ZSTD_DCtx *ZSTD_createDCtx(void) {
	if (!pe_zstd_resolve())
		return NULL;
	if (!__atomic_load_n(&pe_zstd_keep, __ATOMIC_RELAXED))
		return pe_zstd_create();
	ZSTD_DCtx *d = __atomic_exchange_n(&pe_zstd_spare, NULL, __ATOMIC_ACQ_REL);
	if (d != NULL) {
		// A reset that fails (not expected) must not hand out a used context.
		if (pe_zstd_reset != NULL && pe_zstd_reset(d, pe_zstd_reset_session_and_parameters) == 0) {
			__atomic_add_fetch(&pe_zstd_reused, 1, __ATOMIC_RELAXED);
			return d;
		}
		pe_zstd_free(d);
	}
	return pe_zstd_create();
}

size_t ZSTD_freeDCtx(ZSTD_DCtx *d) {
	if (d == NULL)
		return 0;
	if (!pe_zstd_resolve())
		return 0;
	ZSTD_DCtx *none = NULL;
	if (__atomic_load_n(&pe_zstd_keep, __ATOMIC_RELAXED) && pe_zstd_reset != NULL &&
	    __atomic_compare_exchange_n(&pe_zstd_spare, &none, d, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return 0;
	return pe_zstd_free(d);
}

// The kept context saves the context; the decompression remained, 13% of the live
// daemon's CPU under perf: conmon's _CMDLINE is one data object per container, which
// libsystemd decompresses again for every entry that refers to it. This definition
// of ZSTD_decompressStream keeps the results of frames seen twice (so that unique
// messages are never copied), keyed by their compressed bytes, compared whole before
// a result is used: the same frame gives the same bytes, whatever file or mapping it
// came from. Only a call that hands over one whole frame from its start with room
// for all of it is answered from the kept results, as libsystemd's one-shot
// decompression does; everything else goes to libzstd unchanged. A call that finds
// the results in use by another thread goes to libzstd too, so no reader waits.
enum { pe_zc_slots = 128, pe_zc_seen = 512, pe_zc_min = 64, pe_zc_max = 4096 };

struct pe_zc_entry {
	uint64_t hash;
	size_t in_len, out_len;
	unsigned char *in, *out;
};

static struct pe_zc_entry pe_zc[pe_zc_slots];
static uint64_t pe_zc_seen_hash[pe_zc_seen];
static int pe_zc_busy;
static int pe_zc_on = 1;
static unsigned long pe_zc_hits;

static uint64_t pe_zc_hash(const unsigned char *p, size_t n) {
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h ^ (h >> 32);
}

size_t ZSTD_decompressStream(ZSTD_DCtx *d, ZSTD_outBuffer *out, ZSTD_inBuffer *in) {
	if (!pe_zstd_resolve() || pe_zstd_stream == NULL)
		return (size_t)-1; // ZSTD_error_GENERIC
	size_t n = in->size - in->pos;
	if (!__atomic_load_n(&pe_zc_on, __ATOMIC_RELAXED) || in->pos != 0 || out->pos != 0 ||
	    n < pe_zc_min || n > pe_zc_max || __atomic_exchange_n(&pe_zc_busy, 1, __ATOMIC_ACQUIRE))
		return pe_zstd_stream(d, out, in);
	const unsigned char *src = (const unsigned char *)in->src;
	uint64_t h = pe_zc_hash(src, n);
	struct pe_zc_entry *e = &pe_zc[h % pe_zc_slots];
	if (e->in != NULL && e->hash == h && e->in_len == n && out->size >= e->out_len && memcmp(e->in, src, n) == 0) {
		memcpy(out->dst, e->out, e->out_len);
		out->pos = e->out_len;
		in->pos = in->size;
		__atomic_add_fetch(&pe_zc_hits, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&pe_zc_busy, 0, __ATOMIC_RELEASE);
		return 0;
	}
	size_t r = pe_zstd_stream(d, out, in);
	// 0: the frame is decoded and flushed whole; all input taken: it was one frame.
	if (r == 0 && in->pos == in->size && out->pos > 0 && out->pos <= pe_zc_max) {
		uint64_t *seen = &pe_zc_seen_hash[h % pe_zc_seen];
		if (*seen != h) {
			*seen = h;
		} else {
			unsigned char *ci = malloc(n), *co = malloc(out->pos);
			if (ci != NULL && co != NULL) {
				memcpy(ci, src, n);
				memcpy(co, out->dst, out->pos);
				free(e->in);
				free(e->out);
				*e = (struct pe_zc_entry){h, n, out->pos, ci, co};
			} else {
				free(ci);
				free(co);
			}
		}
	}
	__atomic_store_n(&pe_zc_busy, 0, __ATOMIC_RELEASE);
	return r;
}

static unsigned long pe_zc_hit_count(void) { return __atomic_load_n(&pe_zc_hits, __ATOMIC_RELAXED); }
static void pe_zc_set_on(int on) { __atomic_store_n(&pe_zc_on, on, __ATOMIC_RELAXED); }

static unsigned long pe_zstd_reuses(void) { return __atomic_load_n(&pe_zstd_reused, __ATOMIC_RELAXED); }
static void pe_zstd_set_keep(int keep) { __atomic_store_n(&pe_zstd_keep, keep, __ATOMIC_RELAXED); }
*/
import "C"

// zstdContextsReused says how many times libsystemd was handed the kept zstd
// context instead of a new one; 0 means the definitions above are not the ones
// libsystemd calls (a static build, or a libsystemd that no longer uses them).
func zstdContextsReused() uint64 { return uint64(C.pe_zstd_reuses()) }

// zstdResultsReused says how many decompressions were answered from the kept results.
func zstdResultsReused() uint64 { return uint64(C.pe_zc_hit_count()) }

// keepZstdResults turns the kept results on or off (off: every frame goes to libzstd),
// for benchmarks that measure what they save.
func keepZstdResults(keep bool) {
	k := C.int(0)
	if keep {
		k = 1
	}
	C.pe_zc_set_on(k)
}

// keepZstdContext turns the kept context on or off; off is libsystemd's own way, for
// benchmarks that measure what the kept context saves.
func keepZstdContext(keep bool) {
	k := C.int(0)
	if keep {
		k = 1
	}
	C.pe_zstd_set_keep(k)
}
