/* queue_format.c - the ring's codec (queue_format.h, FORMAT.md). */
#include "queue/queue_format.h"

/* Slicing-by-8 (8 KiB of tables): eight bytes per step, the same CRC32
 * (IEEE, reflected) as one table would give. The payload CRC is most of
 * the queue's CPU time for large messages. */
static uint32_t crc_table[8][256];
static int crc_ready;

static void crc_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			crc_table[j][i] =
			    (crc_table[j - 1][i] >> 8) ^ crc_table[0][crc_table[j - 1][i] & 0xFF];
	crc_ready = 1;
}

uint32_t nr_ring_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (!crc_ready)
		crc_init();
	crc = ~crc;
	for (; len >= 8; len -= 8, p += 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
				     (uint32_t)p[3] << 24);
		crc = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^
		      crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^
		      crc_table[0][p[7]];
	}
	while (len--)
		crc = crc_table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

void nr_ring_sechdr_encode(uint8_t *b, const struct nr_ring_sechdr *h)
{
	ring_put32(b, RING_SEC_MAGIC);
	b[4] = RING_VERSION;
	b[5] = h->sector_shift;
	b[6] = h->prog_shift;
	b[7] = 0xFF;
	ring_put32(b + 8, h->seq);
	ring_put32(b + 12, h->floor);
	ring_put32(b + 16, h->erase_count);
	ring_put64(b + 20, h->next_id);
	ring_put32(b + 28, nr_ring_crc32(0, b, 28));
}

int nr_ring_sechdr_decode(const uint8_t *b, struct nr_ring_sechdr *h)
{
	if (ring_get32(b) != RING_SEC_MAGIC || ring_get32(b + 28) != nr_ring_crc32(0, b, 28))
		return 0;
	h->version = b[4];
	h->sector_shift = b[5];
	h->prog_shift = b[6];
	h->seq = ring_get32(b + 8);
	h->floor = ring_get32(b + 12);
	h->erase_count = ring_get32(b + 16);
	h->next_id = ring_get64(b + 20);
	return 1;
}

void nr_ring_rechdr_encode(uint8_t *b, const struct nr_ring_rechdr *h)
{
	b[0] = RING_REC_MAGIC;
	b[1] = h->kind;
	ring_put16(b + 2, h->state_len);
	ring_put32(b + 4, h->len);
	ring_put64(b + 8, h->id);
	ring_put32(b + 16, h->pcrc);
	ring_put32(b + 20, nr_ring_crc32(0, b, 20));
}

int nr_ring_rechdr_parse(const uint8_t *b, uint32_t off, uint32_t S, uint32_t P,
			 struct nr_ring_rechdr *h)
{
	uint32_t i;

	if (off + RING_REC_HDR > S)
		return 0;
	if (b[0] != RING_REC_MAGIC) {
		for (i = 0; i < RING_REC_HDR; i++) {
			if (b[i] != 0xFF)
				return -1;
		}
		return 0;
	}
	if (ring_get32(b + 20) != nr_ring_crc32(0, b, 20))
		return -1;
	h->kind = b[1];
	h->state_len = ring_get16(b + 2);
	h->len = ring_get32(b + 4);
	h->id = ring_get64(b + 8);
	h->pcrc = ring_get32(b + 16);
	/* every bound is checked before the length is trusted for a skip */
	if ((h->kind & 0xF0) != RING_KIND_CHUNK || (h->kind & 0x0C) || h->len > S ||
	    (uint64_t)((RING_REC_HDR + h->len + P - 1) & ~(P - 1)) + h->state_len > S - off ||
	    (h->state_len % P) || (h->state_len && !(h->kind & RING_F_LAST)) ||
	    ((h->kind & RING_F_LAST) && h->len < RING_TRAILER))
		return -1;
	return 1;
}

void nr_ring_trailer_encode(uint8_t *b, const struct nr_ring_trailer *t)
{
	ring_put64(b, (uint64_t)t->arrival);
	ring_put32(b + 8, t->env_len);
	ring_put32(b + 12, t->nrec);
	ring_put16(b + 16, t->nrcpt);
	b[18] = t->flags;
	b[19] = 0xFF;
}

void nr_ring_trailer_decode(const uint8_t *b, struct nr_ring_trailer *t)
{
	t->arrival = (int64_t)ring_get64(b);
	t->env_len = ring_get32(b + 8);
	t->nrec = ring_get32(b + 12);
	t->nrcpt = ring_get16(b + 16);
	t->flags = b[18];
}
