/* Keccak-f[1600] and the two sponges taxledger hashes with: keccak256 (padding 0x01) for every
 * digest of the ledger and SHAKE256 (padding 0x1F) for the per-node salts of a v2 field tree
 * (fieldtree.py). The permutation is written once, over a lane type: a 64-bit integer for one
 * state, or a vector of 4 or 8 of them for as many states at once, so that the leaves of a
 * field tree, independent of each other, are hashed side by side. Lanes are little-endian as
 * FIPS 202 specifies, whatever the host's byte order.
 */
#include <stdlib.h>
#include <string.h>

#include "_keccak.h"

static const uint64_t ROUND_CONSTANTS[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808AULL, 0x8000000080008000ULL,
    0x000000000000808BULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008AULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000AULL,
    0x000000008000808BULL, 0x800000000000008BULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800AULL, 0x800000008000000AULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* Rotation by a constant 1..63. */
#define ROL(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

/* The 24 rounds on the 25 lanes s[0..24] (lane x + 5y), each of type T: θ, ρ and π, χ and ι
 * per FIPS 202 section 3.2, two rounds a turn between two sets of local lanes (a, e), a row of
 * the next state at a time so that few values are live at once. */
#define KECCAK_F1600(T, s)                                                                      \
    do {                                                                                        \
        T a00 = s[0], a01 = s[1], a02 = s[2], a03 = s[3], a04 = s[4];                           \
        T a05 = s[5], a06 = s[6], a07 = s[7], a08 = s[8], a09 = s[9];                           \
        T a10 = s[10], a11 = s[11], a12 = s[12], a13 = s[13], a14 = s[14];                      \
        T a15 = s[15], a16 = s[16], a17 = s[17], a18 = s[18], a19 = s[19];                      \
        T a20 = s[20], a21 = s[21], a22 = s[22], a23 = s[23], a24 = s[24];                      \
        T e00, e01, e02, e03, e04, e05, e06, e07, e08, e09, e10, e11, e12;                      \
        T e13, e14, e15, e16, e17, e18, e19, e20, e21, e22, e23, e24;                           \
        T b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;                           \
        for (int round = 0; round < 24; round += 2) {                                           \
            c0 = a00 ^ a05 ^ a10 ^ a15 ^ a20;                                                   \
            c1 = a01 ^ a06 ^ a11 ^ a16 ^ a21;                                                   \
            c2 = a02 ^ a07 ^ a12 ^ a17 ^ a22;                                                   \
            c3 = a03 ^ a08 ^ a13 ^ a18 ^ a23;                                                   \
            c4 = a04 ^ a09 ^ a14 ^ a19 ^ a24;                                                   \
            d0 = c4 ^ ROL(c1, 1); d1 = c0 ^ ROL(c2, 1); d2 = c1 ^ ROL(c3, 1);                   \
            d3 = c2 ^ ROL(c4, 1); d4 = c3 ^ ROL(c0, 1);                                         \
            b0 = a00 ^ d0; b1 = ROL(a06 ^ d1, 44);                                              \
            b2 = ROL(a12 ^ d2, 43); b3 = ROL(a18 ^ d3, 21);                                     \
            b4 = ROL(a24 ^ d4, 14);                                                             \
            e00 = b0 ^ (~b1 & b2) ^ ROUND_CONSTANTS[round];                                     \
            e01 = b1 ^ (~b2 & b3);                                                              \
            e02 = b2 ^ (~b3 & b4);                                                              \
            e03 = b3 ^ (~b4 & b0);                                                              \
            e04 = b4 ^ (~b0 & b1);                                                              \
            b0 = ROL(a03 ^ d3, 28); b1 = ROL(a09 ^ d4, 20);                                     \
            b2 = ROL(a10 ^ d0, 3); b3 = ROL(a16 ^ d1, 45);                                      \
            b4 = ROL(a22 ^ d2, 61);                                                             \
            e05 = b0 ^ (~b1 & b2);                                                              \
            e06 = b1 ^ (~b2 & b3);                                                              \
            e07 = b2 ^ (~b3 & b4);                                                              \
            e08 = b3 ^ (~b4 & b0);                                                              \
            e09 = b4 ^ (~b0 & b1);                                                              \
            b0 = ROL(a01 ^ d1, 1); b1 = ROL(a07 ^ d2, 6);                                       \
            b2 = ROL(a13 ^ d3, 25); b3 = ROL(a19 ^ d4, 8);                                      \
            b4 = ROL(a20 ^ d0, 18);                                                             \
            e10 = b0 ^ (~b1 & b2);                                                              \
            e11 = b1 ^ (~b2 & b3);                                                              \
            e12 = b2 ^ (~b3 & b4);                                                              \
            e13 = b3 ^ (~b4 & b0);                                                              \
            e14 = b4 ^ (~b0 & b1);                                                              \
            b0 = ROL(a04 ^ d4, 27); b1 = ROL(a05 ^ d0, 36);                                     \
            b2 = ROL(a11 ^ d1, 10); b3 = ROL(a17 ^ d2, 15);                                     \
            b4 = ROL(a23 ^ d3, 56);                                                             \
            e15 = b0 ^ (~b1 & b2);                                                              \
            e16 = b1 ^ (~b2 & b3);                                                              \
            e17 = b2 ^ (~b3 & b4);                                                              \
            e18 = b3 ^ (~b4 & b0);                                                              \
            e19 = b4 ^ (~b0 & b1);                                                              \
            b0 = ROL(a02 ^ d2, 62); b1 = ROL(a08 ^ d3, 55);                                     \
            b2 = ROL(a14 ^ d4, 39); b3 = ROL(a15 ^ d0, 41);                                     \
            b4 = ROL(a21 ^ d1, 2);                                                              \
            e20 = b0 ^ (~b1 & b2);                                                              \
            e21 = b1 ^ (~b2 & b3);                                                              \
            e22 = b2 ^ (~b3 & b4);                                                              \
            e23 = b3 ^ (~b4 & b0);                                                              \
            e24 = b4 ^ (~b0 & b1);                                                              \
            c0 = e00 ^ e05 ^ e10 ^ e15 ^ e20;                                                   \
            c1 = e01 ^ e06 ^ e11 ^ e16 ^ e21;                                                   \
            c2 = e02 ^ e07 ^ e12 ^ e17 ^ e22;                                                   \
            c3 = e03 ^ e08 ^ e13 ^ e18 ^ e23;                                                   \
            c4 = e04 ^ e09 ^ e14 ^ e19 ^ e24;                                                   \
            d0 = c4 ^ ROL(c1, 1); d1 = c0 ^ ROL(c2, 1); d2 = c1 ^ ROL(c3, 1);                   \
            d3 = c2 ^ ROL(c4, 1); d4 = c3 ^ ROL(c0, 1);                                         \
            b0 = e00 ^ d0; b1 = ROL(e06 ^ d1, 44);                                              \
            b2 = ROL(e12 ^ d2, 43); b3 = ROL(e18 ^ d3, 21);                                     \
            b4 = ROL(e24 ^ d4, 14);                                                             \
            a00 = b0 ^ (~b1 & b2) ^ ROUND_CONSTANTS[round + 1];                                 \
            a01 = b1 ^ (~b2 & b3);                                                              \
            a02 = b2 ^ (~b3 & b4);                                                              \
            a03 = b3 ^ (~b4 & b0);                                                              \
            a04 = b4 ^ (~b0 & b1);                                                              \
            b0 = ROL(e03 ^ d3, 28); b1 = ROL(e09 ^ d4, 20);                                     \
            b2 = ROL(e10 ^ d0, 3); b3 = ROL(e16 ^ d1, 45);                                      \
            b4 = ROL(e22 ^ d2, 61);                                                             \
            a05 = b0 ^ (~b1 & b2);                                                              \
            a06 = b1 ^ (~b2 & b3);                                                              \
            a07 = b2 ^ (~b3 & b4);                                                              \
            a08 = b3 ^ (~b4 & b0);                                                              \
            a09 = b4 ^ (~b0 & b1);                                                              \
            b0 = ROL(e01 ^ d1, 1); b1 = ROL(e07 ^ d2, 6);                                       \
            b2 = ROL(e13 ^ d3, 25); b3 = ROL(e19 ^ d4, 8);                                      \
            b4 = ROL(e20 ^ d0, 18);                                                             \
            a10 = b0 ^ (~b1 & b2);                                                              \
            a11 = b1 ^ (~b2 & b3);                                                              \
            a12 = b2 ^ (~b3 & b4);                                                              \
            a13 = b3 ^ (~b4 & b0);                                                              \
            a14 = b4 ^ (~b0 & b1);                                                              \
            b0 = ROL(e04 ^ d4, 27); b1 = ROL(e05 ^ d0, 36);                                     \
            b2 = ROL(e11 ^ d1, 10); b3 = ROL(e17 ^ d2, 15);                                     \
            b4 = ROL(e23 ^ d3, 56);                                                             \
            a15 = b0 ^ (~b1 & b2);                                                              \
            a16 = b1 ^ (~b2 & b3);                                                              \
            a17 = b2 ^ (~b3 & b4);                                                              \
            a18 = b3 ^ (~b4 & b0);                                                              \
            a19 = b4 ^ (~b0 & b1);                                                              \
            b0 = ROL(e02 ^ d2, 62); b1 = ROL(e08 ^ d3, 55);                                     \
            b2 = ROL(e14 ^ d4, 39); b3 = ROL(e15 ^ d0, 41);                                     \
            b4 = ROL(e21 ^ d1, 2);                                                              \
            a20 = b0 ^ (~b1 & b2);                                                              \
            a21 = b1 ^ (~b2 & b3);                                                              \
            a22 = b2 ^ (~b3 & b4);                                                              \
            a23 = b3 ^ (~b4 & b0);                                                              \
            a24 = b4 ^ (~b0 & b1);                                                              \
        }                                                                                       \
        s[0] = a00; s[1] = a01; s[2] = a02; s[3] = a03; s[4] = a04;                             \
        s[5] = a05; s[6] = a06; s[7] = a07; s[8] = a08; s[9] = a09;                             \
        s[10] = a10; s[11] = a11; s[12] = a12; s[13] = a13; s[14] = a14;                        \
        s[15] = a15; s[16] = a16; s[17] = a17; s[18] = a18; s[19] = a19;                        \
        s[20] = a20; s[21] = a21; s[22] = a22; s[23] = a23; s[24] = a24;                        \
    } while (0)

static inline uint64_t
load64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

static inline void
store64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define X86 1
#endif

static void
permute_generic(uint64_t *s)
{
    KECCAK_F1600(uint64_t, s);
}

#ifdef X86
/* The same with BMI's and-not and flagless rotations: a fifth fewer instructions. */
__attribute__((target("bmi,bmi2"))) static void
permute_bmi(uint64_t *s)
{
    KECCAK_F1600(uint64_t, s);
}
#endif

static void permute_first(uint64_t *s);
static void (*permute)(uint64_t *s) = permute_first;

/* Chooses the permutation for this CPU on the first call. */
static void
permute_first(uint64_t *s)
{
#ifdef X86
    permute = __builtin_cpu_supports("bmi2") ? permute_bmi : permute_generic;
#else
    permute = permute_generic;
#endif
    permute(s);
}

static void
absorb_block(uint64_t *lanes, const uint8_t *block)
{
    for (int i = 0; i < KECCAK_RATE / 8; i++)
        lanes[i] ^= load64(block + 8 * i);
    permute(lanes);
}

void
keccak_start(keccak_sponge *sponge)
{
    memset(sponge->lanes, 0, sizeof sponge->lanes);
    sponge->used = 0;
}

void
keccak_absorb(keccak_sponge *sponge, const void *data, size_t size)
{
    const uint8_t *p = data;
    if (sponge->used) {
        size_t room = KECCAK_RATE - sponge->used;
        size_t take = size < room ? size : room;
        memcpy(sponge->block + sponge->used, p, take);
        sponge->used += take;
        p += take;
        size -= take;
        if (sponge->used < KECCAK_RATE)
            return;
        absorb_block(sponge->lanes, sponge->block);
        sponge->used = 0;
    }
    for (; size >= KECCAK_RATE; p += KECCAK_RATE, size -= KECCAK_RATE)
        absorb_block(sponge->lanes, p);
    memcpy(sponge->block, p, size);
    sponge->used = size;
}

/* The last block with the domain byte and the final 0x80 (pad10*1), absorbed. */
static void
pad(keccak_sponge *sponge, uint8_t domain)
{
    memset(sponge->block + sponge->used, 0, KECCAK_RATE - sponge->used);
    sponge->block[sponge->used] = domain;
    sponge->block[KECCAK_RATE - 1] |= 0x80;
    absorb_block(sponge->lanes, sponge->block);
}

void
keccak256_finish(keccak_sponge *sponge, uint8_t digest[32])
{
    pad(sponge, 0x01);
    for (int i = 0; i < 4; i++)
        store64(digest + 8 * i, sponge->lanes[i]);
}

void
shake256_finish(keccak_sponge *sponge)
{
    pad(sponge, 0x1F);
    for (int i = 0; i < KECCAK_RATE / 8; i++)
        store64(sponge->block + 8 * i, sponge->lanes[i]);
    sponge->used = 0;
}

void
shake256_squeeze(keccak_sponge *sponge, uint8_t *out, size_t size)
{
    while (size) {
        if (sponge->used == KECCAK_RATE) {
            permute(sponge->lanes);
            for (int i = 0; i < KECCAK_RATE / 8; i++)
                store64(sponge->block + 8 * i, sponge->lanes[i]);
            sponge->used = 0;
        }
        size_t take = KECCAK_RATE - sponge->used;
        if (take > size)
            take = size;
        memcpy(out, sponge->block + sponge->used, take);
        sponge->used += take;
        out += take;
        size -= take;
    }
}

static size_t
blocks_of(size_t size)
{
    return size / KECCAK_RATE + 1;
}

/* The lanes of block `b` of a message of `blocks` blocks, padded for keccak256 if last. */
static void
block_lanes(const uint8_t *message, size_t size, size_t b, size_t blocks,
            uint64_t lanes[KECCAK_RATE / 8])
{
    const uint8_t *at = message + KECCAK_RATE * b;
    if (b + 1 < blocks) {
        for (int i = 0; i < KECCAK_RATE / 8; i++)
            lanes[i] = load64(at + 8 * i);
        return;
    }
    size_t rest = size - KECCAK_RATE * b;
    uint8_t block[KECCAK_RATE];
    memcpy(block, at, rest);
    memset(block + rest, 0, KECCAK_RATE - rest);
    block[rest] = 0x01;
    block[KECCAK_RATE - 1] |= 0x80;
    for (int i = 0; i < KECCAK_RATE / 8; i++)
        lanes[i] = load64(block + 8 * i);
}

static void
one(const uint8_t *message, size_t size, uint8_t digest[32])
{
    uint64_t s[25] = {0}, lanes[KECCAK_RATE / 8];
    size_t blocks = blocks_of(size);
    for (size_t b = 0; b < blocks; b++) {
        block_lanes(message, size, b, blocks, lanes);
        for (int i = 0; i < KECCAK_RATE / 8; i++)
            s[i] ^= lanes[i];
        permute(s);
    }
    for (int i = 0; i < 4; i++)
        store64(digest + 8 * i, s[i]);
}

#ifdef X86
/* Up to `width` messages of `blocks` blocks each (messages[which[k]]), in the lanes of a vector
 * type, absorbed and permuted together; unused lanes hash nothing anyone reads. */
#define SIDE_BY_SIDE(T, width)                                                                 \
    do {                                                                                       \
        T s[25];                                                                               \
        uint64_t lanes[KECCAK_RATE / 8];                                                       \
        memset(s, 0, sizeof s);                                                                \
        for (size_t b = 0; b < blocks; b++) {                                                  \
            for (size_t k = 0; k < n; k++) {                                                   \
                block_lanes(messages[which[k]], sizes[which[k]], b, blocks, lanes);            \
                for (int i = 0; i < KECCAK_RATE / 8; i++)                                      \
                    s[i][k] ^= lanes[i];                                                       \
            }                                                                                  \
            KECCAK_F1600(T, s);                                                                \
        }                                                                                      \
        for (size_t k = 0; k < n; k++)                                                         \
            for (int i = 0; i < 4; i++)                                                        \
                store64(digests[which[k]] + 8 * i, s[i][k]);                                   \
    } while (0)

typedef uint64_t lanes4 __attribute__((vector_size(32)));
typedef uint64_t lanes8 __attribute__((vector_size(64)));

__attribute__((target("avx2"))) static void
four(const uint8_t *const *messages, const size_t *sizes, const size_t *which, size_t n,
     size_t blocks, uint8_t (*digests)[32])
{
    SIDE_BY_SIDE(lanes4, 4);
}

__attribute__((target("avx512f"))) static void
eight(const uint8_t *const *messages, const size_t *sizes, const size_t *which, size_t n,
      size_t blocks, uint8_t (*digests)[32])
{
    SIDE_BY_SIDE(lanes8, 8);
}

/* The first 4 or 8 states of a keccak_wide, permuted as the lanes of one vector type. */
#define WIDE_STATES(T, wide)                                                                   \
    do {                                                                                       \
        T s[25];                                                                               \
        for (int i = 0; i < 25; i++)                                                           \
            memcpy(&s[i], (wide)->lanes[i], sizeof s[i]);                                      \
        KECCAK_F1600(T, s);                                                                    \
        for (int i = 0; i < 25; i++)                                                           \
            memcpy((wide)->lanes[i], &s[i], sizeof s[i]);                                      \
    } while (0)

__attribute__((target("avx2"))) static void
wide_four(keccak_wide *wide)
{
    WIDE_STATES(lanes4, wide);
}

__attribute__((target("avx512f"))) static void
wide_eight(keccak_wide *wide)
{
    WIDE_STATES(lanes8, wide);
}
#endif

size_t
keccak_wide_width(void)
{
#ifdef X86
    static size_t width;
    if (!width)
        width = __builtin_cpu_supports("avx512f") ? 8 : __builtin_cpu_supports("avx2") ? 4 : 1;
    return width;
#else
    return 1;
#endif
}

void
keccak_f1600_wide(keccak_wide *wide, size_t n)
{
    size_t k = 0;
#ifdef X86
    size_t width = keccak_wide_width();
    if (n > 1 && width == 8) {
        if (n > 4)
            wide_eight(wide);
        else
            wide_four(wide);
        return;
    }
    if (n > 1 && width == 4) {
        wide_four(wide);
        k = 4;
    }
#endif
    for (; k < n; k++) {
        uint64_t s[25];
        for (int i = 0; i < 25; i++)
            s[i] = wide->lanes[i][k];
        permute(s);
        for (int i = 0; i < 25; i++)
            wide->lanes[i][k] = s[i];
    }
}

void
keccak_wide_load(keccak_wide *wide, size_t k, const uint64_t state[25])
{
    for (int i = 0; i < 25; i++)
        wide->lanes[i][k] = state[i];
}

void
keccak_wide_store(const keccak_wide *wide, size_t k, uint64_t state[25])
{
    for (int i = 0; i < 25; i++)
        state[i] = wide->lanes[i][k];
}

void
keccak_wide_absorb(keccak_wide *wide, size_t k, const uint8_t *message, size_t size,
                   size_t block, uint8_t domain)
{
    const uint8_t *at = message + KECCAK_RATE * block;
    uint8_t last[KECCAK_RATE];
    if (block == size / KECCAK_RATE) {
        size_t rest = size - KECCAK_RATE * block;
        memcpy(last, at, rest);
        memset(last + rest, 0, KECCAK_RATE - rest);
        last[rest] = domain;
        last[KECCAK_RATE - 1] |= 0x80;
        at = last;
    }
    for (int i = 0; i < KECCAK_RATE / 8; i++)
        wide->lanes[i][k] ^= load64(at + 8 * i);
}

void
keccak_wide_read(const keccak_wide *wide, size_t k, uint8_t *out, size_t size)
{
    uint8_t lanes[KECCAK_RATE];
    for (size_t i = 0; i < (size + 7) / 8; i++)
        store64(lanes + 8 * i, wide->lanes[i][k]);
    memcpy(out, lanes, size);
}

void
keccak256_many(const uint8_t *const *messages, const size_t *sizes, size_t count,
               uint8_t (*digests)[32])
{
#ifdef X86
    size_t width = keccak_wide_width();
    size_t local[256];
    size_t *order = count <= 256 ? local : malloc(sizeof(size_t) * count);
    if (width > 1 && order) {
        /* The messages by their number of blocks (most have one: nearly sorted already). */
        for (size_t i = 0; i < count; i++) {
            size_t j = i, blocks = blocks_of(sizes[i]);
            for (; j > 0 && blocks_of(sizes[order[j - 1]]) > blocks; j--)
                order[j] = order[j - 1];
            order[j] = i;
        }
        for (size_t i = 0; i < count;) {
            size_t blocks = blocks_of(sizes[order[i]]), run = i;
            while (run < count && blocks_of(sizes[order[run]]) == blocks)
                run++;
            while (i < run) {
                size_t n = run - i;
                if (n == 1)
                    one(messages[order[i]], sizes[order[i]], digests[order[i]]);
                else if (width == 8 && n >= 5)
                    eight(messages, sizes, order + i, n = n < 8 ? n : 8, blocks, digests);
                else
                    four(messages, sizes, order + i, n = n < 4 ? n : 4, blocks, digests);
                i += n;
            }
        }
        if (order != local)
            free(order);
        return;
    }
    if (order != local)
        free(order);
#endif
    for (size_t i = 0; i < count; i++)
        one(messages[i], sizes[i], digests[i]);
}
