/* fuzz_session.c - raw client bytes into an inbound session over the
 * simulated sockets, with the real queue on RAM. The first byte picks the
 * chunk size (short reads) and whether the client is allowed to relay.
 * Every reply line must be well formed: "DDD[ -]...\r\n", at most 512
 * octets, and the session must release everything at the end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/loop.h"
#include "queue/queue.h"
#include "sim.h"
#include "smtpd/smtpd.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char conf_text[] = "listen 127.0.0.1:25\nallow 127.0.0.0/8\nhostname fuzz.lan\n"
				"max_message_size 4K\nmax_errors 20\ncommand_timeout 10s\n";

static void check_replies(const char *out)
{
	while (*out) {
		const char *eol = strstr(out, "\r\n");
		if (!eol || eol - out > 510 || eol - out < 3)
			abort();
		for (int i = 0; i < 3; i++)
			if (out[i] < '0' || out[i] > '9')
				abort();
		if (eol - out > 3 && out[3] != ' ' && out[3] != '-')
			abort();
		for (const char *c = out; c < eol; c++)
			if (*c == '\r' || *c == '\n' || *c == '\0')
				abort();
		out = eol + 2;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nr_loop *loop;
	struct nr_bdev rb;
	struct nr_queue *q;
	struct nr_conf conf;
	struct nr_smtpd *d;
	char err[256];

	if (size < 1 || size > 65536)
		return 0;
	unsigned chunk = 1 + (data[0] & 0x3f);
	const char *peer = (data[0] & 0x40) ? "10.0.0.1:5000" : "127.0.0.1:5000";
	data++;
	size--;
	sim_reset();
	if (nr_loop_new(&loop, 16, 16) < 0)
		abort();
	if (nr_store_ram_open(&rb, 64 * 1024, 4096) < 0 || nr_queue_open(&q, &rb, loop) < 0)
		abort();
	nr_conf_init(&conf);
	if (nr_conf_parse(&conf, "fuzz.conf", conf_text, strlen(conf_text), err, sizeof(err)) < 0)
		abort();
	if (nr_smtpd_start(&d, loop, &conf, q, NULL) < 0)
		abort();
	struct sim_peer *p = sim_incoming(sim_listener("127.0.0.1:25"), peer);
	sim_peer_send_chunked(p, data, size, chunk);
	sim_peer_close(p);
	for (int i = 0; i < 2000 && !sim_peer_closed_by_core(p); i++)
		nr_loop_turn(loop, 0);
	check_replies(sim_peer_output_str(p));
	nr_smtpd_stop(d);
	nr_queue_close(q);
	rb.close(&rb);
	nr_conf_free(&conf);
	nr_loop_free(loop);
	if (sim_open_sockets() != 0)
		abort();
	return 0;
}
