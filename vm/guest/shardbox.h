/*
 * shardbox.h - guest SDK for shardbox's RISC-V VM (RV64GC, lp64d or lp64).
 *
 * Host-accelerated libc calls and a minimal runtime for programs that run as shardbox edge
 * tenants. Everything here is an `ecall` with the number in a7, arguments in a0..a5 and the
 * result in a0 (docs/guest-abi.md). The host performs memcpy/memset/memmove/memcmp/strlen at
 * native speed with bounds checks on guest memory, and owns the guest heap (malloc and
 * friends), so a handler touches few pages and runs few instructions.
 *
 * Use:
 *   #include "shardbox.h"            in every file: the sb_* inline functions.
 *   #define SHARDBOX_IMPLEMENTATION  before the include in exactly one file: also defines the
 *                                    C names memcpy, memset, memmove, memcmp, strlen, malloc,
 *                                    free, calloc, realloc, write, exit, _exit (the compiler
 *                                    emits calls to memcpy/memset by itself), and `_start`
 *                                    (unless SHARDBOX_NO_START is defined).
 * Build freestanding:
 *   riscv64-unknown-elf-gcc -O2 -march=rv64gc -mabi=lp64d -ffreestanding -nostdlib -static \
 *       -I vm/guest prog.c -o prog.elf
 *
 * Not here: stdio, strings beyond strlen, threads, files. Programs that need all of libc can
 * use a static glibc build instead (riscv64-linux-gnu-gcc -static): the VM runs those too,
 * they are just larger and slower to start.
 */
#ifndef SHARDBOX_H
#define SHARDBOX_H

#include <stddef.h>
#include <stdint.h>

/* Linux riscv64 system calls the runtime uses. */
#define SB_SYS_WRITE 64
#define SB_SYS_EXIT 93
#define SB_SYS_EXIT_GROUP 94

/* shardbox host calls (TEAM.md, docs/guest-abi.md). 520..599 are reserved for the HTTP ABI. */
#define SB_HOST_MEMCPY 500
#define SB_HOST_MEMSET 501
#define SB_HOST_MEMMOVE 502
#define SB_HOST_MEMCMP 503
#define SB_HOST_STRLEN 504
#define SB_HOST_MALLOC 510
#define SB_HOST_FREE 511
#define SB_HOST_CALLOC 512
#define SB_HOST_REALLOC 513

/* Marks a function the host calls by name: kept by the linker, not inlined away, and visible
 * in the symbol table (strip with --strip-debug, not -s, to keep it). */
#define SHARDBOX_EXPORT __attribute__((used, noinline, visibility("default")))

static inline long sb_ecall3(long n, long a0, long a1, long a2)
{
    register long r0 __asm__("a0") = a0;
    register long r1 __asm__("a1") = a1;
    register long r2 __asm__("a2") = a2;
    register long r7 __asm__("a7") = n;
    /* "memory": the host reads and writes guest memory through the pointers. */
    __asm__ volatile("ecall" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r7) : "memory");
    return r0;
}

static inline void *sb_memcpy(void *dst, const void *src, size_t n)
{
    return (void *)sb_ecall3(SB_HOST_MEMCPY, (long)dst, (long)src, (long)n);
}

static inline void *sb_memset(void *dst, int byte, size_t n)
{
    return (void *)sb_ecall3(SB_HOST_MEMSET, (long)dst, (long)byte, (long)n);
}

static inline void *sb_memmove(void *dst, const void *src, size_t n)
{
    return (void *)sb_ecall3(SB_HOST_MEMMOVE, (long)dst, (long)src, (long)n);
}

static inline int sb_memcmp(const void *a, const void *b, size_t n)
{
    return (int)sb_ecall3(SB_HOST_MEMCMP, (long)a, (long)b, (long)n);
}

static inline size_t sb_strlen(const char *s)
{
    return (size_t)sb_ecall3(SB_HOST_STRLEN, (long)s, 0, 0);
}

/* Returns NULL when the tenant's page budget cannot cover the request. */
static inline void *sb_malloc(size_t size)
{
    return (void *)sb_ecall3(SB_HOST_MALLOC, (long)size, 0, 0);
}

static inline void sb_free(void *p)
{
    sb_ecall3(SB_HOST_FREE, (long)p, 0, 0);
}

static inline void *sb_calloc(size_t n, size_t size)
{
    return (void *)sb_ecall3(SB_HOST_CALLOC, (long)n, (long)size, 0);
}

static inline void *sb_realloc(void *p, size_t size)
{
    return (void *)sb_ecall3(SB_HOST_REALLOC, (long)p, (long)size, 0);
}

/* Linux write(2): bytes written or a negative errno. */
static inline long sb_write(int fd, const void *buf, size_t n)
{
    return sb_ecall3(SB_SYS_WRITE, fd, (long)buf, (long)n);
}

static inline __attribute__((noreturn)) void sb_exit(int code)
{
    for (;;) sb_ecall3(SB_SYS_EXIT_GROUP, code, 0, 0);
}

/* Writes a NUL-terminated string to stdout. */
static inline long sb_puts(const char *s)
{
    return sb_write(1, s, sb_strlen(s));
}

#ifdef SHARDBOX_IMPLEMENTATION

void *memcpy(void *dst, const void *src, size_t n) { return sb_memcpy(dst, src, n); }
void *memset(void *dst, int byte, size_t n) { return sb_memset(dst, byte, n); }
void *memmove(void *dst, const void *src, size_t n) { return sb_memmove(dst, src, n); }
int memcmp(const void *a, const void *b, size_t n) { return sb_memcmp(a, b, n); }
size_t strlen(const char *s) { return sb_strlen(s); }
void *malloc(size_t size) { return sb_malloc(size); }
void free(void *p) { sb_free(p); }
void *calloc(size_t n, size_t size) { return sb_calloc(n, size); }
void *realloc(void *p, size_t size) { return sb_realloc(p, size); }
long write(int fd, const void *buf, size_t n) { return sb_write(fd, buf, n); }
__attribute__((noreturn)) void exit(int code) { sb_exit(code); }
__attribute__((noreturn)) void _exit(int code) { sb_exit(code); }

#ifndef SHARDBOX_NO_START

/* The Linux process entry: sp points at argc, then argv[], NULL, envp[], NULL, auxv. Sets gp
 * for linker relaxation, calls main(argc, argv, envp) and exits with its result. */
__asm__(".section .text._start,\"ax\",@progbits\n"
        ".globl _start\n"
        ".type _start, @function\n"
        "_start:\n"
        ".option push\n"
        ".option norelax\n"
        "  lla gp, __global_pointer$\n"
        ".option pop\n"
        "  ld a0, 0(sp)\n"
        "  addi a1, sp, 8\n"
        "  slli a2, a0, 3\n"
        "  add a2, a2, a1\n"
        "  addi a2, a2, 8\n"
        "  andi sp, sp, -16\n"
        "  call main\n"
        "  li a7, 94\n"
        "  ecall\n"
        "1: j 1b\n"
        ".size _start, . - _start\n"
        ".text\n");
#endif /* SHARDBOX_NO_START */

#endif /* SHARDBOX_IMPLEMENTATION */

#endif /* SHARDBOX_H */
