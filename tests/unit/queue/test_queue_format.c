/* test_queue_format.c - the ring's codec (queue_format.h) against the
 * tables of src/queue/FORMAT.md: every expected byte below is written by
 * hand from the spec, and the CRCs come from a bit-by-bit CRC32 here, not
 * from the codec's tables. */
#include "queue/queue.h"
#include "queue/queue_format.h"
#include "test.h"

/* CRC32 as FORMAT.md states it: reflected 0xEDB88320, init and final
 * XOR 0xFFFFFFFF, one bit at a time. */
static uint32_t ref_crc32(const uint8_t *p, size_t len)
{
	uint32_t c = 0xFFFFFFFFu;

	while (len--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
	}
	return ~c;
}

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

TEST(crc32_check_value)
{
	const uint8_t s[] = "123456789";
	uint8_t big[1000];

	EXPECT_EQ(ref_crc32(s, 9), 0xCBF43926u);
	EXPECT_EQ(nr_ring_crc32(0, s, 9), 0xCBF43926u);
	/* continued over pieces, and over the 8-byte path */
	EXPECT_EQ(nr_ring_crc32(nr_ring_crc32(0, s, 4), s + 4, 5), 0xCBF43926u);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	EXPECT_EQ(nr_ring_crc32(0, big, sizeof(big)), ref_crc32(big, sizeof(big)));
	EXPECT_EQ(nr_ring_crc32(0, big, 0), 0u);
}

/* FORMAT.md section 5: sector 3 @0, S = 4096, P = 1. */
TEST(sector_header_bytes)
{
	uint8_t want[32] = {0x4E, 0x52, 0x51, 0x31, /* magic "NRQ1" */
			    0x01,                   /* version */
			    0x0C,                   /* sector_shift: 4096 */
			    0x00,                   /* prog_shift: 1 */
			    0xFF,                   /* reserved */
			    0x11, 0x00, 0x00, 0x00, /* seq 17 */
			    0x0E, 0x00, 0x00, 0x00, /* floor 14 */
			    0x04, 0x00, 0x00, 0x00, /* erase_count 4 */
			    0xE6, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}; /* next_id 230 */
	struct nr_ring_sechdr h = {RING_VERSION, 12, 0, 17, 14, 4, 230}, back;
	uint8_t got[32];

	le32(want + 28, ref_crc32(want, 28));
	memset(got, 0xAA, sizeof(got));
	nr_ring_sechdr_encode(got, &h);
	EXPECT_EQ(memcmp(got, want, 32), 0);
	memset(&back, 0, sizeof(back));
	ASSERT_EQ(nr_ring_sechdr_decode(want, &back), 1);
	EXPECT_EQ(back.version, 1);
	EXPECT_EQ(back.sector_shift, 12);
	EXPECT_EQ(back.prog_shift, 0);
	EXPECT_EQ(back.seq, 17u);
	EXPECT_EQ(back.floor, 14u);
	EXPECT_EQ(back.erase_count, 4u);
	EXPECT_EQ(back.next_id, 230u);
	/* invalid: erased, a bit of the crc'ed bytes flipped, wrong magic */
	memset(got, 0xFF, sizeof(got));
	EXPECT_EQ(nr_ring_sechdr_decode(got, &back), 0);
	memcpy(got, want, 32);
	got[9] ^= 0x01;
	EXPECT_EQ(nr_ring_sechdr_decode(got, &back), 0);
	memcpy(got, want, 32);
	got[0] = 0x4F;
	EXPECT_EQ(nr_ring_sechdr_decode(got, &back), 0);
}

/* FORMAT.md section 5: sector 3 @32, a FIRST|LAST chunk of 1090 bytes. */
TEST(record_header_bytes)
{
	uint8_t want[24] = {0x51,                   /* magic 'Q' */
			    0x13,                   /* kind: chunk | FIRST | LAST */
			    0x02, 0x00,             /* state_len 2 (1 rcpt, P = 1) */
			    0x42, 0x04, 0x00, 0x00, /* len 1090 */
			    0xE7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* id 231 */
			    0x78, 0x56, 0x34, 0x12};                        /* pcrc 0x12345678 */
	struct nr_ring_rechdr h = {0x13, 2, 1090, 0x12345678u, 231}, back;
	uint8_t got[24];

	le32(want + 20, ref_crc32(want, 20)); /* hcrc */
	EXPECT_EQ(RING_KIND_CHUNK | RING_F_FIRST | RING_F_LAST, 0x13u);
	nr_ring_rechdr_encode(got, &h);
	EXPECT_EQ(memcmp(got, want, 24), 0);
	memset(&back, 0, sizeof(back));
	ASSERT_EQ(nr_ring_rechdr_parse(want, 32, 4096, 1, &back), 1);
	EXPECT_EQ(back.kind, 0x13);
	EXPECT_EQ(back.state_len, 2);
	EXPECT_EQ(back.len, 1090u);
	EXPECT_EQ(back.id, 231u);
	EXPECT_EQ(back.pcrc, 0x12345678u);
}

/* FORMAT.md section 3, step 4: clean end, dirty end, bounds. */
TEST(record_header_parse_ends)
{
	struct nr_ring_rechdr h = {0x11, 0, 100, 0, 7}, back;
	uint8_t b[24];

	memset(b, 0xFF, sizeof(b));
	EXPECT_EQ(nr_ring_rechdr_parse(b, 32, 4096, 1, &back), 0); /* erased: clean */
	b[23] = 0xFE;
	EXPECT_EQ(nr_ring_rechdr_parse(b, 32, 4096, 1, &back), -1);       /* not erased, no magic */
	EXPECT_EQ(nr_ring_rechdr_parse(b, 4096 - 23, 4096, 1, &back), 0); /* no room */
	nr_ring_rechdr_encode(b, &h);
	EXPECT_EQ(nr_ring_rechdr_parse(b, 32, 4096, 1, &back), 1);
	b[5] ^= 0x10; /* len changed under the hcrc */
	EXPECT_EQ(nr_ring_rechdr_parse(b, 32, 4096, 1, &back), -1);
	/* a record must not cross the sector's end: 24 + 100 from 3972 */
	nr_ring_rechdr_encode(b, &h);
	EXPECT_EQ(nr_ring_rechdr_parse(b, 3972, 4096, 1, &back), 1);
	EXPECT_EQ(nr_ring_rechdr_parse(b, 3973, 4096, 1, &back), -1);
	/* state only with LAST, a multiple of P */
	h.state_len = 4;
	nr_ring_rechdr_encode(b, &h);
	EXPECT_EQ(nr_ring_rechdr_parse(b, 32, 4096, 4, &back), -1);
	h.kind = 0x12;
	nr_ring_rechdr_encode(b, &h);
	EXPECT_EQ(nr_ring_rechdr_parse(b, 32, 4096, 4, &back), 1);
	EXPECT_EQ(nr_ring_rechdr_parse(b, 32, 4096, 8, &back), -1);
	/* a LAST payload holds at least the trailer; unknown kind bits */
	h.len = 19;
	nr_ring_rechdr_encode(b, &h);
	EXPECT_EQ(nr_ring_rechdr_parse(b, 32, 4096, 4, &back), -1);
	h.len = 100;
	h.kind = 0x16;
	nr_ring_rechdr_encode(b, &h);
	EXPECT_EQ(nr_ring_rechdr_parse(b, 32, 4096, 4, &back), -1);
}

/* FORMAT.md 2.2: the commit trailer of the section 5 example. */
TEST(trailer_bytes)
{
	const uint8_t want[20] = {0x00, 0xF1, 0x53, 0x65, 0x00, 0x00, 0x00, 0x00, /* 1700000000 */
				  0x2F, 0x00, 0x00, 0x00,                         /* env_len 47 */
				  0x01, 0x00, 0x00, 0x00,                         /* nrec 1 */
				  0x01, 0x00,                                     /* nrcpt 1 */
				  0x00,                                           /* flags */
				  0xFF};                                          /* reserved */
	struct nr_ring_trailer t = {1700000000, 47, 1, 1, 0}, back;
	uint8_t got[20];

	nr_ring_trailer_encode(got, &t);
	EXPECT_EQ(memcmp(got, want, 20), 0);
	nr_ring_trailer_decode(want, &back);
	EXPECT_EQ(back.arrival, 1700000000);
	EXPECT_EQ(back.env_len, 47u);
	EXPECT_EQ(back.nrec, 1u);
	EXPECT_EQ(back.nrcpt, 1);
	EXPECT_EQ(back.flags, 0);
	t.arrival = -2; /* signed */
	t.flags = NR_QENV_8BIT;
	nr_ring_trailer_encode(got, &t);
	EXPECT_EQ(got[0], 0xFE);
	EXPECT_EQ(got[7], 0xFF);
	EXPECT_EQ(got[18], 0x01);
	nr_ring_trailer_decode(got, &back);
	EXPECT_EQ(back.arrival, -2);
}

/* FORMAT.md 2.4: state_len = align(1 + ceil(nrcpt / 4)); the bits. */
TEST(state_area)
{
	const uint8_t st[3] = {0xFF, 0xFE, 0xB7}; /* section 5: rcpt 0 delivered */

	EXPECT_EQ(nr_ring_state_len(1, 1), 2);
	EXPECT_EQ(nr_ring_state_len(4, 1), 2);
	EXPECT_EQ(nr_ring_state_len(5, 1), 3);
	EXPECT_EQ(nr_ring_state_len(1, 4), 4);
	EXPECT_EQ(nr_ring_state_len(13, 8), 8);
	EXPECT_EQ(nr_ring_state_len(65535, 1), 16385);
	EXPECT_EQ(nr_ring_rcpt_bits(st, 0), 2u); /* bit 0 cleared: delivered */
	EXPECT_EQ(nr_ring_rcpt_bits(st, 1), 3u); /* pending */
	/* 0xB7 = 10 11 01 11: rcpt 7 delivered, 6 pending, 5 failed, 4 pending */
	EXPECT_EQ(nr_ring_rcpt_bits(st, 4), 3u);
	EXPECT_EQ(nr_ring_rcpt_bits(st, 5), 1u);
	EXPECT_EQ(nr_ring_rcpt_bits(st, 6), 3u);
	EXPECT_EQ(nr_ring_rcpt_bits(st, 7), 2u);
	EXPECT_EQ(RING_ST_DONE, 0x01u);
	EXPECT_EQ(RING_ST_DEAD, 0x02u);
}

int main(void)
{
	RUN(crc32_check_value);
	RUN(sector_header_bytes);
	RUN(record_header_bytes);
	RUN(record_header_parse_ends);
	RUN(trailer_bytes);
	RUN(state_area);
	return TEST_REPORT();
}
