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

#endif
