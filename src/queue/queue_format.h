/*
 * queue_format.h - the bytes of the queue ring (src/queue/FORMAT.md, version
 * 1): constants, little-endian helpers, the CRC32, and the encoders and
 * decoders of the sector header (FORMAT.md 1.1), the record header (2.1)
 * and the commit trailer (2.2). No device access and no state here: what
 * the ring does with these bytes is in queue_ring.c and queue_recover.c.
 *
 * Private to src/queue (and its tests).
 */
#ifndef NR_QUEUE_FORMAT_H
#define NR_QUEUE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define RING_VERSION 1u
#define RING_SEC_HDR 32u           /* sector header bytes (1.1) */
#define RING_REC_HDR 24u           /* record header bytes (2.1) */
#define RING_TRAILER 20u           /* commit trailer bytes, end of a LAST payload (2.2) */
#define RING_SEC_MAGIC 0x3151524Eu /* "NRQ1" */
#define RING_REC_MAGIC 0x51u       /* 'Q' */
#define RING_KIND_CHUNK 0x10u
#define RING_F_FIRST 0x01u
#define RING_F_LAST 0x02u
#define RING_ST_DONE 0x01u /* state byte 0, cleared: message done (2.4) */
#define RING_ST_DEAD 0x02u /* state byte 0, cleared: message dead */

/* ---- little-endian ------------------------------------------------------- */

static inline void ring_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void ring_put32(uint8_t *p, uint32_t v)
{
	ring_put16(p, (uint16_t)v);
	ring_put16(p + 2, (uint16_t)(v >> 16));
}

static inline void ring_put64(uint8_t *p, uint64_t v)
{
	ring_put32(p, (uint32_t)v);
	ring_put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t ring_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t ring_get32(const uint8_t *p)
{
	return (uint32_t)ring_get16(p) | ((uint32_t)ring_get16(p + 2) << 16);
}

static inline uint64_t ring_get64(const uint8_t *p)
{
	return (uint64_t)ring_get32(p) | ((uint64_t)ring_get32(p + 4) << 32);
}

/* CRC32 (IEEE 802.3, reflected) of data, continuing from crc (0 to start):
 * nr_ring_crc32(nr_ring_crc32(0, a, n), b, m) is the CRC of a || b. */
uint32_t nr_ring_crc32(uint32_t crc, const void *data, size_t len);

/* ---- sector header (FORMAT.md 1.1) --------------------------------------- */

struct nr_ring_sechdr {
	uint8_t version;
	uint8_t sector_shift, prog_shift; /* log2(S), log2(P) */
	uint32_t seq, floor, erase_count;
	uint64_t next_id;
};

/* RING_SEC_HDR bytes: magic, version 1, the fields, reserved 0xFF, crc. */
void nr_ring_sechdr_encode(uint8_t *b, const struct nr_ring_sechdr *h);
/* 1 when magic and crc match (h filled; the caller checks h->version and
 * the geometry), 0 otherwise (erased, torn, foreign). */
int nr_ring_sechdr_decode(const uint8_t *b, struct nr_ring_sechdr *h);

/* ---- record header (FORMAT.md 2.1) --------------------------------------- */

struct nr_ring_rechdr {
	uint8_t kind; /* RING_KIND_CHUNK | RING_F_* */
	uint16_t state_len;
	uint32_t len, pcrc; /* payload bytes and their CRC32 */
	uint64_t id;
};

/* RING_REC_HDR bytes: magic, the fields, hcrc over bytes 0..19. */
void nr_ring_rechdr_encode(uint8_t *b, const struct nr_ring_rechdr *h);
/* Parse the header at in-sector offset off of a sector of S bytes on a
 * device of program size P (both powers of two). 1 valid (h filled), 0
 * erased or no room for a header (the sector's data ends cleanly), -1
 * invalid (magic, hcrc, kind or bounds wrong: a dirty end). */
int nr_ring_rechdr_parse(const uint8_t *b, uint32_t off, uint32_t S, uint32_t P,
			 struct nr_ring_rechdr *h);

/* ---- commit trailer (FORMAT.md 2.2) and state area (2.4) ----------------- */

struct nr_ring_trailer {
	int64_t arrival;
	uint32_t env_len, nrec;
	uint16_t nrcpt;
	uint8_t flags; /* NR_QENV_* */
};

/* RING_TRAILER bytes; the reserved byte is 0xFF. */
void nr_ring_trailer_encode(uint8_t *b, const struct nr_ring_trailer *t);
void nr_ring_trailer_decode(const uint8_t *b, struct nr_ring_trailer *t);

/* align(1 + ceil(nrcpt / 4)) for program size P. */
static inline uint16_t nr_ring_state_len(uint32_t nrcpt, uint32_t P)
{
	return (uint16_t)((1 + (nrcpt + 3) / 4 + P - 1) & ~(P - 1));
}

/* Recipient i's two state bits (bit 0 clear: delivered, bit 1 clear:
 * failed; 3: pending) from the state area st. */
static inline unsigned nr_ring_rcpt_bits(const uint8_t *st, uint32_t i)
{
	return (unsigned)(st[1 + i / 4] >> (2 * (i % 4))) & 3u;
}

#endif /* NR_QUEUE_FORMAT_H */
