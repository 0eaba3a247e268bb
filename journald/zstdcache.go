package journald

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

// libsystemd (252 on Debian 12) creates a zstd decompression context for every compressed
// field it reads and frees it afterwards. conmon's entries carry a compressed
// _CMDLINE, so reading one entry mapped, zeroed and unmapped a context of about
// 100 KB: more than half of the reader's CPU went to ZSTD_createDCtx. These two
// definitions take the place of libzstd's for libsystemd (the executable comes
// first in symbol lookup) and keep one context to hand out again, reset, so the
// decompression itself is the same call on the same library.
typedef struct ZSTD_DCtx_s ZSTD_DCtx;

static ZSTD_DCtx *(*pe_zstd_create)(void);
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

static unsigned long pe_zstd_reuses(void) { return __atomic_load_n(&pe_zstd_reused, __ATOMIC_RELAXED); }
static void pe_zstd_set_keep(int keep) { __atomic_store_n(&pe_zstd_keep, keep, __ATOMIC_RELAXED); }
*/
import "C"

// zstdContextsReused says how many times libsystemd was handed the kept zstd
// context instead of a new one; 0 means the definitions above are not the ones
// libsystemd calls (a static build, or a libsystemd that no longer uses them).
func zstdContextsReused() uint64 { return uint64(C.pe_zstd_reuses()) }

// keepZstdContext turns the kept context on or off; off is libsystemd's own way, for
// benchmarks that measure what the kept context saves.
func keepZstdContext(keep bool) {
	k := C.int(0)
	if keep {
		k = 1
	}
	C.pe_zstd_set_keep(k)
}
