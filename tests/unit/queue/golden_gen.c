/* golden_gen.c - writes tests/unit/queue/golden/ring_v1.bin (see golden.h).
 *
 *   build/tests/unit/queue/golden_gen tests/unit/queue/golden/ring_v1.bin
 *
 * Regenerate only on purpose: the committed image pins the on-flash format
 * that every later build must recover (test_queue_golden). A new image
 * means a format change, which FORMAT.md must describe first. */
#include <stdio.h>

#include "golden.h"
#include "sim_flash.h"

int main(int argc, char **argv)
{
	struct nr_sim_flash *flash = NULL;
	struct nr_bdev bd;
	struct nr_queue *q = NULL;
	nr_qid_t ids[GOLDEN_NMSGS];
	FILE *f;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: golden_gen OUT.bin\n");
		return 2;
	}
	if (nr_sim_flash_new(&flash, GOLDEN_S, GOLDEN_C, GOLDEN_P))
		return 1;
	nr_sim_flash_bdev(flash, &bd);
	if (nr_queue_open(&q, &bd, NULL))
		return 1;
	ret = golden_workload(q, ids);
	if (ret == 0)
		ret = golden_check(q, ids);
	nr_queue_close(q);
	if (ret) {
		fprintf(stderr, "golden_gen: workload step %d failed\n", ret);
		return 1;
	}
	f = fopen(argv[1], "wb");
	if (!f ||
	    fwrite(nr_sim_flash_data(flash), 1, (size_t)nr_sim_flash_size(flash), f) !=
		nr_sim_flash_size(flash) ||
	    fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	nr_sim_flash_free(flash);
	return 0;
}
