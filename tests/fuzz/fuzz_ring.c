/* fuzz_ring.c - recovery of arbitrary or corrupted images never crashes,
 * never loops, and never surfaces a message whose records fail their CRC.
 *
 * Input: byte 0 picks the geometry; byte 1 picks a mode: 0x00-0x7F the rest
 * of the input is the raw image (padded with 0xFF); 0x80-0xFF a valid
 * image is built by a short workload, then the rest of the input is a list
 * of (offset, xor) corruptions. After recovery every listed message is read
 * back in full; a body that reads back must match one written, and after a
 * read error the message must not be due any more. */
#include <stdlib.h>
#include <string.h>

#include "queue/queue.h"
#include "sim_flash.h"

static void body_of(uint8_t *dst, size_t len, uint32_t n)
{
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = (uint8_t)(n * 31 + i * 7);
}

static void done_cb(void *arg, int result, nr_qid_t id)
{
	(void)arg;
	(void)result;
	(void)id;
}

static void workload(struct nr_queue *q)
{
	static const char *const rcpts[] = {"a@example.com", "b@example.com"};
	static uint8_t body[3000];
	struct nr_qenvelope env = {"s@lan", rcpts, 2, 1700000000, "[10.0.0.1]", NULL, 0};
	struct nr_qwriter *w;
	uint32_t n;

	for (n = 0; n < 6; n++) {
		size_t len = 100 + n * 500;
		body_of(body, len, n);
		if (nr_queue_begin(q, &env, 0, &w))
			return;
		if (nr_queue_append(w, body, len)) {
			nr_queue_abort(w);
			return;
		}
		if (nr_queue_commit(w, done_cb, NULL))
			return;
	}
}

struct ids {
	nr_qid_t v[512];
	size_t n;
};

static int collect(void *arg, const struct nr_qinfo *info)
{
	struct ids *ids = arg;

	if (ids->n < 512)
		ids->v[ids->n++] = info->id;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t geo[4][3] = {{512, 8, 1}, {1024, 6, 4}, {1024, 8, 16}, {2048, 5, 8}};
	struct nr_sim_flash *f = NULL;
	struct nr_bdev bd;
	struct nr_queue *q = NULL;
	static uint8_t buf[8192], want[8192];
	struct ids ids = {{0}, 0};
	const uint32_t *g;
	uint8_t *img;
	uint64_t isz;
	size_t i;

	if (size < 2)
		return 0;
	g = geo[data[0] & 3];
	if (nr_sim_flash_new(&f, g[0], g[1], g[2]))
		return 0;
	nr_sim_flash_bdev(f, &bd);
	img = nr_sim_flash_data(f);
	isz = nr_sim_flash_size(f);
	if (data[1] < 0x80) {
		memcpy(img, data + 2, size - 2 < isz ? size - 2 : isz);
	} else {
		if (nr_queue_open(&q, &bd, NULL) == 0) {
			workload(q);
			nr_queue_close(q);
			q = NULL;
		}
		for (i = 2; i + 3 <= size; i += 3) {
			uint32_t off = (uint32_t)(data[i] | data[i + 1] << 8) % (uint32_t)isz;
			img[off] ^= data[i + 2];
		}
	}
	nr_sim_flash_reset_ops(f);
	if (nr_queue_open(&q, &bd, NULL) == 0) {
		if (nr_sim_flash_ops(f) != 0)
			abort(); /* recovery must not write */
		(void)nr_queue_foreach(q, collect, &ids);
		for (i = 0; i < ids.n; i++) {
			struct nr_qreader *r;
			struct nr_qinfo info;
			size_t have = 0;
			long k = 0;
			int j;
			(void)nr_queue_sender(q, ids.v[i]);
			(void)nr_queue_rcpt(q, ids.v[i], 0, NULL);
			if (nr_queue_read_open(q, ids.v[i], &r))
				continue;
			for (j = 0; j < 10000; j++) {
				k = nr_qreader_read(r, buf + have, sizeof(buf) - have);
				if (k <= 0 || have + (size_t)k >= sizeof(buf))
					break;
				have += (size_t)k;
			}
			nr_qreader_close(r);
			if (j == 10000)
				abort(); /* the reader must end */
			if (k < 0) {
				uint64_t now = 0;
				nr_qid_t due;
				/* a read error quarantines: never due again */
				while (nr_queue_next_due(q, now, &due) == 0 && due != ids.v[i]) {
					nr_queue_set_inflight(q, due, 1);
				}
				if (nr_queue_info(q, ids.v[i], &info) == 0 &&
				    info.state == NR_MSG_PENDING)
					abort();
				continue;
			}
			/* built images: a body that reads back is one we wrote */
			if (data[1] >= 0x80 && k == 0) {
				uint32_t n = (uint32_t)((have - 100) / 500);
				body_of(want, have, n);
				if (have < 100 || (have - 100) % 500 || memcmp(buf, want, have))
					abort();
			}
		}
		/* writing after recovering a strange image must not crash */
		workload(q);
		nr_queue_close(q);
	}
	nr_sim_flash_free(f);
	return 0;
}
