/* FP test vectors: runs every F and D instruction on edge and pseudo-random operands in every
 * rounding mode (set in frm, instructions use DYN) and prints one line per execution:
 *
 *   <mnemonic> <rm> <a> <b> <c> <result> <fflags>     (hex; a..c and result as 64-bit values)
 *
 * Operands of single-precision instructions are NaN-boxed with fmv.w.x; results are read back
 * with fmv.x.w (sign-extended) or fmv.x.d. vm/tests/it/fpu_qemu.rs runs this on qemu-riscv64 and
 * recomputes every line with shardbox_vm::fpu. Freestanding: only Linux write/exit. */
#define SHARDBOX_IMPLEMENTATION
#include "shardbox.h"

static char buf[1 << 16];
static size_t used;

static void flush(void)
{
    sb_write(1, buf, used);
    used = 0;
}

static void put_char(char c)
{
    if (used == sizeof buf) flush();
    buf[used++] = c;
}

static void put_str(const char *s)
{
    while (*s) put_char(*s++);
}

static void put_hex(uint64_t v)
{
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    while (n) put_char(tmp[--n]);
}

static void line(const char *op, unsigned rm, uint64_t a, uint64_t b, uint64_t c, uint64_t r,
                 unsigned flags)
{
    put_str(op);
    put_char(' ');
    put_hex(rm);
    put_char(' ');
    put_hex(a);
    put_char(' ');
    put_hex(b);
    put_char(' ');
    put_hex(c);
    put_char(' ');
    put_hex(r);
    put_char(' ');
    put_hex(flags);
    put_char('\n');
}

static uint64_t rng = 0x853c49e6748fea9bu;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const uint32_t s_special[] = {
    0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000,
    0xffc00000, 0x7f800001, 0x7fa00000, 0x7fc12345, 0x00000001, 0x80000001, 0x007fffff,
    0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff, 0x3f000000, 0x3fc00000, 0x40200000,
    0x40400000, 0x3dcccccd, 0x3eaaaaab, 0x4b800001, 0x4f000000, 0xcf000000, 0x4f800000,
    0x5f000000, 0xdf000000, 0x5f800000, 0xbf000000, 0x33800000, 0x0c000000, 0x72000000,
};
static const uint64_t d_special[] = {
    0x0000000000000000, 0x8000000000000000, 0x3ff0000000000000, 0xbff0000000000000,
    0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000, 0xfff8000000000000,
    0x7ff0000000000001, 0x7ff4000000000000, 0x7ff8000000012345, 0x0000000000000001,
    0x8000000000000001, 0x000fffffffffffff, 0x0010000000000000, 0x8010000000000000,
    0x7fefffffffffffff, 0xffefffffffffffff, 0x3fe0000000000000, 0x3ff8000000000000,
    0x4004000000000000, 0x4008000000000000, 0x3fb999999999999a, 0x3fd5555555555555,
    0x4340000000000001, 0x41e0000000000000, 0xc1e0000000000000, 0x41f0000000000000,
    0x43e0000000000000, 0xc3e0000000000000, 0x43f0000000000000, 0xbfe0000000000000,
    0x3ca0000000000000, 0x0180000000000000, 0x7e00000000000000, 0x41dfffffffc00000,
    0x36a0000000000000, 0x47efffffe0000000,
};
static const uint64_t i_special[] = {
    0, 1, (uint64_t)-1, 0x7fffffff, 0x80000000, 0xffffffff, 0xffffffff80000000, 0x1000001,
    0x20000000000001, 0x7fffffffffffffff, 0x8000000000000000, 0x123456789, 0xfffffffffffffffe,
};
#define COUNT(a) (sizeof a / sizeof a[0])

/* A random single / double with a structured exponent and trailing zeros (ties). */
static uint32_t rand_s(void)
{
    uint64_t r = next();
    uint32_t exp;
    switch (r & 3) {
    case 0: exp = (uint32_t)(r >> 8) % 5; break;
    case 1: exp = 127 - 30 + (uint32_t)(r >> 8) % 60; break;
    case 2: exp = 250 + (uint32_t)(r >> 8) % 6; break;
    default: exp = (uint32_t)(r >> 8) & 0xff; break;
    }
    uint32_t frac = (uint32_t)(r >> 20) & 0x7fffff;
    frac = frac >> ((r >> 50) % 24) << ((r >> 50) % 24);
    return ((uint32_t)(r >> 63) << 31) | (exp << 23) | frac;
}

static uint64_t rand_d(void)
{
    uint64_t r = next(), f = next();
    uint64_t exp;
    switch (r & 3) {
    case 0: exp = (r >> 8) % 5; break;
    case 1: exp = 1023 - 60 + (r >> 8) % 120; break;
    case 2: exp = 2040 + (r >> 8) % 8; break;
    default: exp = (r >> 8) & 0x7ff; break;
    }
    uint64_t frac = f & 0xfffffffffffffu;
    unsigned z = (unsigned)((r >> 40) % 53);
    frac = frac >> z << z;
    return (r >> 63 << 63) | (exp << 52) | frac;
}

static void set_frm(unsigned rm) { __asm__ volatile("fsrm %0" : : "r"(rm)); }
static void clear_flags(void) { __asm__ volatile("fsflags zero"); }
static unsigned get_flags(void)
{
    unsigned f;
    __asm__ volatile("frflags %0" : "=r"(f));
    return f;
}

/* Instruction wrappers: operands in integer registers, moved in and out of ft0..ft3. */
#define S2(name, insn)                                                                          \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t c)                                    \
    {                                                                                           \
        (void)c;                                                                                \
        uint64_t r;                                                                             \
        __asm__ volatile("fmv.w.x ft0, %1\n fmv.w.x ft1, %2\n " insn "\n fmv.x.w %0, ft2"       \
                         : "=r"(r) : "r"(a), "r"(b) : "ft0", "ft1", "ft2");                     \
        return r;                                                                               \
    }
#define D2(name, insn)                                                                          \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t c)                                    \
    {                                                                                           \
        (void)c;                                                                                \
        uint64_t r;                                                                             \
        __asm__ volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n " insn "\n fmv.x.d %0, ft2"       \
                         : "=r"(r) : "r"(a), "r"(b) : "ft0", "ft1", "ft2");                     \
        return r;                                                                               \
    }
#define S3(name, insn)                                                                          \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t c)                                    \
    {                                                                                           \
        uint64_t r;                                                                             \
        __asm__ volatile("fmv.w.x ft0, %1\n fmv.w.x ft1, %2\n fmv.w.x ft3, %3\n " insn          \
                         "\n fmv.x.w %0, ft2"                                                   \
                         : "=r"(r) : "r"(a), "r"(b), "r"(c) : "ft0", "ft1", "ft2", "ft3");      \
        return r;                                                                               \
    }
#define D3(name, insn)                                                                          \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t c)                                    \
    {                                                                                           \
        uint64_t r;                                                                             \
        __asm__ volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n fmv.d.x ft3, %3\n " insn          \
                         "\n fmv.x.d %0, ft2"                                                   \
                         : "=r"(r) : "r"(a), "r"(b), "r"(c) : "ft0", "ft1", "ft2", "ft3");      \
        return r;                                                                               \
    }
/* Float source, integer result (comparisons, fclass, float-to-int). */
#define SX(name, insn)                                                                          \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t c)                                    \
    {                                                                                           \
        (void)c;                                                                                \
        uint64_t r;                                                                             \
        __asm__ volatile("fmv.w.x ft0, %1\n fmv.w.x ft1, %2\n " insn                            \
                         : "=r"(r) : "r"(a), "r"(b) : "ft0", "ft1");                            \
        return r;                                                                               \
    }
#define DX(name, insn)                                                                          \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t c)                                    \
    {                                                                                           \
        (void)c;                                                                                \
        uint64_t r;                                                                             \
        __asm__ volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n " insn                            \
                         : "=r"(r) : "r"(a), "r"(b) : "ft0", "ft1");                            \
        return r;                                                                               \
    }
/* Integer source, float result. */
#define XS(name, insn)                                                                          \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t c)                                    \
    {                                                                                           \
        (void)b, (void)c;                                                                       \
        uint64_t r;                                                                             \
        __asm__ volatile(insn "\n fmv.x.w %0, ft2" : "=r"(r) : "r"(a) : "ft2");                 \
        return r;                                                                               \
    }
#define XD(name, insn)                                                                          \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t c)                                    \
    {                                                                                           \
        (void)b, (void)c;                                                                       \
        uint64_t r;                                                                             \
        __asm__ volatile(insn "\n fmv.x.d %0, ft2" : "=r"(r) : "r"(a) : "ft2");                 \
        return r;                                                                               \
    }

S2(fadd_s, "fadd.s ft2, ft0, ft1, dyn")
S2(fsub_s, "fsub.s ft2, ft0, ft1, dyn")
S2(fmul_s, "fmul.s ft2, ft0, ft1, dyn")
S2(fdiv_s, "fdiv.s ft2, ft0, ft1, dyn")
S2(fsqrt_s, "fsqrt.s ft2, ft0, dyn")
S2(fmin_s, "fmin.s ft2, ft0, ft1")
S2(fmax_s, "fmax.s ft2, ft0, ft1")
S2(fsgnj_s, "fsgnj.s ft2, ft0, ft1")
S2(fsgnjn_s, "fsgnjn.s ft2, ft0, ft1")
S2(fsgnjx_s, "fsgnjx.s ft2, ft0, ft1")
S3(fmadd_s, "fmadd.s ft2, ft0, ft1, ft3, dyn")
S3(fmsub_s, "fmsub.s ft2, ft0, ft1, ft3, dyn")
S3(fnmsub_s, "fnmsub.s ft2, ft0, ft1, ft3, dyn")
S3(fnmadd_s, "fnmadd.s ft2, ft0, ft1, ft3, dyn")
SX(feq_s, "feq.s %0, ft0, ft1")
SX(flt_s, "flt.s %0, ft0, ft1")
SX(fle_s, "fle.s %0, ft0, ft1")
SX(fclass_s, "fclass.s %0, ft0")
SX(fcvt_w_s, "fcvt.w.s %0, ft0, dyn")
SX(fcvt_wu_s, "fcvt.wu.s %0, ft0, dyn")
SX(fcvt_l_s, "fcvt.l.s %0, ft0, dyn")
SX(fcvt_lu_s, "fcvt.lu.s %0, ft0, dyn")
XS(fcvt_s_w, "fcvt.s.w ft2, %1, dyn")
XS(fcvt_s_wu, "fcvt.s.wu ft2, %1, dyn")
XS(fcvt_s_l, "fcvt.s.l ft2, %1, dyn")
XS(fcvt_s_lu, "fcvt.s.lu ft2, %1, dyn")
D2(fadd_d, "fadd.d ft2, ft0, ft1, dyn")
D2(fsub_d, "fsub.d ft2, ft0, ft1, dyn")
D2(fmul_d, "fmul.d ft2, ft0, ft1, dyn")
D2(fdiv_d, "fdiv.d ft2, ft0, ft1, dyn")
D2(fsqrt_d, "fsqrt.d ft2, ft0, dyn")
D2(fmin_d, "fmin.d ft2, ft0, ft1")
D2(fmax_d, "fmax.d ft2, ft0, ft1")
D2(fsgnj_d, "fsgnj.d ft2, ft0, ft1")
D2(fsgnjn_d, "fsgnjn.d ft2, ft0, ft1")
D2(fsgnjx_d, "fsgnjx.d ft2, ft0, ft1")
D3(fmadd_d, "fmadd.d ft2, ft0, ft1, ft3, dyn")
D3(fmsub_d, "fmsub.d ft2, ft0, ft1, ft3, dyn")
D3(fnmsub_d, "fnmsub.d ft2, ft0, ft1, ft3, dyn")
D3(fnmadd_d, "fnmadd.d ft2, ft0, ft1, ft3, dyn")
DX(feq_d, "feq.d %0, ft0, ft1")
DX(flt_d, "flt.d %0, ft0, ft1")
DX(fle_d, "fle.d %0, ft0, ft1")
DX(fclass_d, "fclass.d %0, ft0")
DX(fcvt_w_d, "fcvt.w.d %0, ft0, dyn")
DX(fcvt_wu_d, "fcvt.wu.d %0, ft0, dyn")
DX(fcvt_l_d, "fcvt.l.d %0, ft0, dyn")
DX(fcvt_lu_d, "fcvt.lu.d %0, ft0, dyn")
XD(fcvt_d_w, "fcvt.d.w ft2, %1")
XD(fcvt_d_wu, "fcvt.d.wu ft2, %1")
XD(fcvt_d_l, "fcvt.d.l ft2, %1, dyn")
XD(fcvt_d_lu, "fcvt.d.lu ft2, %1, dyn")
/* Conversions between formats: single source boxed, double result; and the reverse. */
static uint64_t fcvt_d_s(uint64_t a, uint64_t b, uint64_t c)
{
    (void)b, (void)c;
    uint64_t r;
    __asm__ volatile("fmv.w.x ft0, %1\n fcvt.d.s ft2, ft0\n fmv.x.d %0, ft2"
                     : "=r"(r) : "r"(a) : "ft0", "ft2");
    return r;
}
D2(fcvt_s_d, "fcvt.s.d ft2, ft0, dyn")
/* An improperly boxed single operand reads as the canonical NaN. */
D2(fadd_s_unboxed, "fadd.s ft2, ft0, ft1, dyn")

typedef uint64_t (*op_fn)(uint64_t, uint64_t, uint64_t);
struct op {
    const char *name;
    op_fn fn;
    int kind; /* 0 single, 1 double, 2 integer operand */
    int arity;
    int rounds; /* uses rm */
};

static const struct op ops[] = {
    {"fadd.s", fadd_s, 0, 2, 1}, {"fsub.s", fsub_s, 0, 2, 1}, {"fmul.s", fmul_s, 0, 2, 1},
    {"fdiv.s", fdiv_s, 0, 2, 1}, {"fsqrt.s", fsqrt_s, 0, 1, 1}, {"fmin.s", fmin_s, 0, 2, 0},
    {"fmax.s", fmax_s, 0, 2, 0}, {"fsgnj.s", fsgnj_s, 0, 2, 0}, {"fsgnjn.s", fsgnjn_s, 0, 2, 0},
    {"fsgnjx.s", fsgnjx_s, 0, 2, 0}, {"fmadd.s", fmadd_s, 0, 3, 1}, {"fmsub.s", fmsub_s, 0, 3, 1},
    {"fnmsub.s", fnmsub_s, 0, 3, 1}, {"fnmadd.s", fnmadd_s, 0, 3, 1}, {"feq.s", feq_s, 0, 2, 0},
    {"flt.s", flt_s, 0, 2, 0}, {"fle.s", fle_s, 0, 2, 0}, {"fclass.s", fclass_s, 0, 1, 0},
    {"fcvt.w.s", fcvt_w_s, 0, 1, 1}, {"fcvt.wu.s", fcvt_wu_s, 0, 1, 1},
    {"fcvt.l.s", fcvt_l_s, 0, 1, 1}, {"fcvt.lu.s", fcvt_lu_s, 0, 1, 1},
    {"fcvt.s.w", fcvt_s_w, 2, 1, 1}, {"fcvt.s.wu", fcvt_s_wu, 2, 1, 1},
    {"fcvt.s.l", fcvt_s_l, 2, 1, 1}, {"fcvt.s.lu", fcvt_s_lu, 2, 1, 1},
    {"fcvt.d.s", fcvt_d_s, 0, 1, 0},
    {"fadd.d", fadd_d, 1, 2, 1}, {"fsub.d", fsub_d, 1, 2, 1}, {"fmul.d", fmul_d, 1, 2, 1},
    {"fdiv.d", fdiv_d, 1, 2, 1}, {"fsqrt.d", fsqrt_d, 1, 1, 1}, {"fmin.d", fmin_d, 1, 2, 0},
    {"fmax.d", fmax_d, 1, 2, 0}, {"fsgnj.d", fsgnj_d, 1, 2, 0}, {"fsgnjn.d", fsgnjn_d, 1, 2, 0},
    {"fsgnjx.d", fsgnjx_d, 1, 2, 0}, {"fmadd.d", fmadd_d, 1, 3, 1}, {"fmsub.d", fmsub_d, 1, 3, 1},
    {"fnmsub.d", fnmsub_d, 1, 3, 1}, {"fnmadd.d", fnmadd_d, 1, 3, 1}, {"feq.d", feq_d, 1, 2, 0},
    {"flt.d", flt_d, 1, 2, 0}, {"fle.d", fle_d, 1, 2, 0}, {"fclass.d", fclass_d, 1, 1, 0},
    {"fcvt.w.d", fcvt_w_d, 1, 1, 1}, {"fcvt.wu.d", fcvt_wu_d, 1, 1, 1},
    {"fcvt.l.d", fcvt_l_d, 1, 1, 1}, {"fcvt.lu.d", fcvt_lu_d, 1, 1, 1},
    {"fcvt.d.w", fcvt_d_w, 2, 1, 1}, {"fcvt.d.wu", fcvt_d_wu, 2, 1, 1},
    {"fcvt.d.l", fcvt_d_l, 2, 1, 1}, {"fcvt.d.lu", fcvt_d_lu, 2, 1, 1},
    {"fcvt.s.d", fcvt_s_d, 1, 1, 1}, {"fadd.s.unboxed", fadd_s_unboxed, 1, 2, 1},
};

static uint64_t operand(int kind, unsigned i)
{
    if (kind == 0) return i < COUNT(s_special) ? s_special[i] : rand_s();
    if (kind == 1) return i < COUNT(d_special) ? d_special[i] : rand_d();
    if (i < COUNT(i_special)) return i_special[i];
    uint64_t r = next();
    return r >> (r & 63);
}

static void run(const struct op *op, unsigned rm, uint64_t a, uint64_t b, uint64_t c)
{
    set_frm(rm);
    clear_flags();
    uint64_t r = op->fn(a, b, c);
    unsigned flags = get_flags();
    set_frm(0);
    line(op->name, rm, a, op->arity > 1 ? b : 0, op->arity > 2 ? c : 0, r, flags);
}

int main(void)
{
    const unsigned per_op = 400;
    for (unsigned k = 0; k < COUNT(ops); k++) {
        const struct op *op = &ops[k];
        unsigned modes = op->rounds ? 5 : 1;
        unsigned specials = op->kind == 0 ? COUNT(s_special) : op->kind == 1 ? COUNT(d_special) : COUNT(i_special);
        for (unsigned rm = 0; rm < modes; rm++) {
            /* Every special against every special for unary and binary ops, then randoms. */
            if (op->arity == 1) {
                for (unsigned i = 0; i < specials; i++) run(op, rm, operand(op->kind, i), 0, 0);
            } else {
                for (unsigned i = 0; i < specials; i++)
                    for (unsigned j = 0; j < specials; j++)
                        run(op, rm, operand(op->kind, i), operand(op->kind, j),
                            operand(op->kind, (i + j) % specials));
            }
            for (unsigned n = 0; n < per_op; n++) {
                uint64_t a = operand(op->kind, 1000), b = operand(op->kind, 1000),
                         c = operand(op->kind, 1000);
                if (op->arity == 3 && (n & 3) == 0) {
                    /* c close to -(a*b): cancellation. */
                    c = op->kind == 0 ? (uint64_t)fmul_s(a, b, 0) ^ 0x80000000u
                                      : fmul_d(a, b, 0) ^ 0x8000000000000000u;
                    c &= op->kind == 0 ? 0xffffffffu : ~0ull;
                }
                run(op, rm, a, b, c);
            }
        }
    }
    flush();
    return 0;
}
