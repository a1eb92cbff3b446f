/* keccak256 (Ethereum's, not NIST SHA3-256) and SHAKE256 over Keccak-f[1600]: one sponge for
 * both (rate 136 bytes), and keccak256 of many messages side by side on CPUs with vector units
 * (see _keccak.c). */
#ifndef TAXLEDGER_KECCAK_H
#define TAXLEDGER_KECCAK_H

#include <stddef.h>
#include <stdint.h>

/* Bytes absorbed per permutation: 1600 bits less the 512-bit capacity of both functions. */
#define KECCAK_RATE 136

typedef struct {
    uint64_t lanes[25];
    uint8_t block[KECCAK_RATE];
    /* Absorbing: bytes of `block` filled. Squeezing: bytes of `block` given out. */
    size_t used;
} keccak_sponge;

void keccak_start(keccak_sponge *sponge);
void keccak_absorb(keccak_sponge *sponge, const void *data, size_t size);
/* Pads with keccak256's 0x01 domain byte and writes the 32-byte digest. */
void keccak256_finish(keccak_sponge *sponge, uint8_t digest[32]);
/* Pads with SHAKE's 0x1F domain byte; then shake256_squeeze gives the output in order. */
void shake256_finish(keccak_sponge *sponge);
void shake256_squeeze(keccak_sponge *sponge, uint8_t *out, size_t size);

/* keccak256 of `count` messages, digests[i] of messages[i]: those of as many blocks side by
 * side, eight or four at a time where the CPU has AVX-512 or AVX2. */
void keccak256_many(const uint8_t *const *messages, const size_t *sizes, size_t count,
                    uint8_t (*digests)[32]);

/* Up to KECCAK_WIDE states permuted side by side, for a caller that schedules several
 * sponges at once (a field tree's salts and nodes, each at its own pace): lane i of state k is
 * lanes[i][k], so that the states' lane i is one vector. */
#define KECCAK_WIDE 8
typedef struct {
    uint64_t lanes[25][KECCAK_WIDE];
} keccak_wide;

/* How many states keccak_f1600_wide permutes for the price of one on this CPU: 8 with
 * AVX-512, 4 with AVX2, else 1. */
size_t keccak_wide_width(void);
/* Keccak-f[1600] of states 0..n-1 of `wide` (n <= keccak_wide_width(), or any n <= KECCAK_WIDE
 * one state at a time); the other states may be permuted too. */
void keccak_f1600_wide(keccak_wide *wide, size_t n);
/* State k from, or into, the 25 lanes of one sponge kept elsewhere between permutations. */
void keccak_wide_load(keccak_wide *wide, size_t k, const uint64_t state[25]);
void keccak_wide_store(const keccak_wide *wide, size_t k, uint64_t state[25]);
/* Block `block` of a message of `size` bytes XORed into state k; the last block (the
 * message's size / KECCAK_RATE-th) padded with `domain` (0x01 keccak256, 0x1F SHAKE256). */
void keccak_wide_absorb(keccak_wide *wide, size_t k, const uint8_t *message, size_t size,
                        size_t block, uint8_t domain);
/* The first `size` (at most KECCAK_RATE) bytes of state k: a digest, or a block of output. */
void keccak_wide_read(const keccak_wide *wide, size_t k, uint8_t *out, size_t size);

#endif
