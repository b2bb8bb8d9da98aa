// SPDX-License-Identifier: MIT
/*
 * sluice rdma TEST --oob perftest --to ADDR: sluice as the client of a
 * perftest server (ib_write_bw, ib_read_bw, ib_send_bw, ib_write_lat,
 * ib_read_lat). After perftest's exchange (rdma_pt_xchg.c) the bandwidth
 * tools keep --window requests outstanding over perftest's walk of the
 * server's cycle buffer and exchange reports; ib_read_lat times each READ;
 * ib_write_lat answers each write of the server's with one of its own and
 * reports half the round trip, as perftest does. --verify reads back what
 * write-bw left in the server's region and checks every byte.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hist.h"
#include "rdma_pt.h"
#include "rdma_tool.h"
#include "sluice.h"

/*
 * --verify: READ back what the WRITEs left in the server's region (every
 * place perftest's walk wrote) and compare it with what was sent. The
 * server's region must allow READ: sluice's does, perftest's ib_write_bw
 * does not (it registers REMOTE_WRITE only). Returns the bytes wrong;
 * *checked the bytes compared.
 */
static uint64_t pt_read_back(struct pt_sess *s, const struct pt_dest *peer,
			     uint64_t size, uint64_t iters, uint64_t cycle,
			     uint64_t *checked)
{
	uint64_t step = pt_inc(size), n, i, j, len, bad = 0;
	uint64_t last = sl_time_ns();
	struct sl_rdma_send_wr wr = { .opcode = SL_RDMA_WR_RDMA_READ,
				      .rkey = peer->rkey,
				      .remote_addr = peer->vaddr };
	struct sl_rdma_mr *mr;
	struct sl_rdma_wc wc;
	uint8_t *b;

	n = size > cycle / 2 ? 1 : cycle / step;
	if (n > iters)
		n = iters;
	len = (n - 1) * step + size;
	if (len > SL_RDMA_MAX_MSG)
		cli_die("--verify: %" PRIu64 " bytes to read back, over one "
			"READ's %u",
			len, SL_RDMA_MAX_MSG);
	b = aligned_alloc(4096, (len + 4095) & ~(uint64_t)4095);
	if (!b)
		cli_die("--verify: out of memory");
	memset(b, 0, len);
	mr = sl_rdma_reg_mr(s->c->pd, b, len, SL_RDMA_ACCESS_LOCAL_WRITE);
	if (!mr)
		cli_die("--verify: %s", sl_last_error());
	wr.sge = (struct sl_rdma_sge){ (uintptr_t)b, (uint32_t)len,
				       sl_rdma_mr_lkey(mr) };
	if (sl_rdma_post_send(s->c->qp, &wr))
		cli_die("--verify: post READ: %s", sl_last_error());
	for (;;) {
		sl_rdma_progress(s->c->qp);
		if (sl_rdma_poll_cq(s->c->cq, 1, &wc) == 1)
			break;
		if (cli_stop || sl_time_ns() - last > s->timeout_ns)
			cli_die("--verify: no answer to the READ");
	}
	if (wc.status != SL_RDMA_WC_SUCCESS)
		cli_die("--verify: the READ completed with %s%s",
			sl_rdma_wc_status_str(wc.status),
			wc.status == SL_RDMA_WC_REM_ACCESS_ERR ?
				" (the server's region does not allow READ: "
				"perftest's ib_write_bw registers it for WRITE "
				"only)" :
				"");
	for (i = 0; i < n; i++)
		for (j = 0; j < size; j++)
			bad += b[i * step + j] != pt_byte(j);
	*checked = n * size;
	sl_rdma_dereg_mr(mr);
	free(b);
	return bad;
}

/* sluice as the client of a perftest server. */
int pt_client(struct pt_sess *s, enum rd_test test, const struct sl_addr *to_in,
	      uint64_t size, uint64_t iters, uint64_t window, uint8_t max_mtu,
	      bool verify, bool json)
{
	uint64_t checked = 0;
	enum pt_tool tool = pt_tool_of(test);
	bool lat = tool == PT_WRITE_LAT || tool == PT_READ_LAT;
	struct sl_addr to = *to_in, local;
	struct pt_dest me, peer;
	struct pt_report mine = { 0 }, theirs = { 0 };
	struct json_object *r = json_object_new_object();
	struct cli_hist *h = cli_hist_new();
	uint64_t cycle, t0, t1, posted = 0, done = 0, bad = 0, i, tprev = 0;
	uint64_t span;
	uint8_t mtu, *buf;
	struct sl_rdma_mr *mr;
	char line[320];
	double secs;

	s->fd = rd_dial(&to, sl_time_ns() + s->timeout_ns);
	rd_local_addr(s->c, s->fd, &local);
	if (local.family != AF_INET)
		cli_die("perftest's exchange here is for IPv4 RoCE v2 GIDs");
	pt_prologue(s, max_mtu, &mtu, &cycle);
	/* our region: what we send from or read into (bandwidth: one slot
	 * per outstanding request), and for write_lat where the server's
	 * writes land */
	span = lat ? size : size * window;
	buf = aligned_alloc(4096, (2 * span + 4095) & ~(uint64_t)4095);
	if (!buf || !h)
		cli_die("--size %" PRIu64 ": out of memory", size);
	/* write_lat sends zeros with the count in the last byte, as
	 * perftest does; other tests the same pattern in every message */
	for (i = 0; i < 2 * span; i++)
		buf[i] = tool == PT_WRITE_LAT ? 0 : pt_byte(i % size);
	mr = sl_rdma_reg_mr(s->c->pd, buf, 2 * span,
			    SL_RDMA_ACCESS_LOCAL_WRITE |
				    SL_RDMA_ACCESS_REMOTE_WRITE);
	if (!mr)
		cli_die("registering %" PRIu64 " bytes: %s", 2 * span,
			sl_last_error());
	pt_my_dest(s, &local, mr, (uintptr_t)buf + span, &me);
	pt_shake(s, &me, &peer);
	pt_connect(s, &local, me.psn, &peer, mtu);
	for (i = 0; i < pt_syncs(tool); i++)
		pt_shake(s, &me, &peer);
	if (tool == PT_SEND_BW)
		pt_shake(s, &me, &peer);
	if (tool == PT_READ_BW && peer.out_reads && window > peer.out_reads)
		window = peer.out_reads;

	t0 = sl_time_ns();
	if (tool == PT_WRITE_LAT) {
		volatile uint8_t *poll_b = buf + span + size - 1;
		uint8_t *post_b = buf + size - 1;
		uint64_t scnt = 0, rcnt = 0, last = t0;

		/* the server wrote first; answer each write we see */
		while (scnt < iters) {
			struct sl_rdma_send_wr wr = {
				.opcode = SL_RDMA_WR_RDMA_WRITE,
				.sge = { (uintptr_t)buf, (uint32_t)size,
					 sl_rdma_mr_lkey(mr) },
				.rkey = peer.rkey,
				.remote_addr = peer.vaddr,
			};
			struct sl_rdma_wc wc;
			uint64_t now;

			rcnt++;
			while (*poll_b != (uint8_t)rcnt) {
				sl_rdma_progress(s->c->qp);
				if (cli_stop ||
				    sl_time_ns() - last > s->timeout_ns)
					cli_die("write_lat: no write %" PRIu64
						" from the server",
						rcnt);
			}
			now = sl_time_ns();
			last = now;
			if (tprev)
				cli_hist_record(h, (now - tprev) / 2);
			tprev = now;
			for (i = 0; i + 1 < size; i++)
				bad += buf[span + i] != 0;
			*post_b = (uint8_t)++scnt;
			while (sl_rdma_post_send(s->c->qp, &wr) == -ENOMEM)
				sl_rdma_progress(s->c->qp);
			do {
				sl_rdma_progress(s->c->qp);
				if (cli_stop ||
				    sl_time_ns() - last > s->timeout_ns)
					cli_die("write_lat: no completion");
			} while (sl_rdma_poll_cq(s->c->cq, 1, &wc) != 1);
			if (wc.status != SL_RDMA_WC_SUCCESS)
				cli_die("write_lat: a write completed with %s",
					sl_rdma_wc_status_str(wc.status));
			done++;
		}
		t1 = sl_time_ns();
		/* the last ACK out before the server closes */
		for (i = 0; i < 1000; i++)
			sl_rdma_progress(s->c->qp);
		close(s->fd);
	} else {
		uint64_t last = t0, tpost = 0;

		if (lat)
			window = 1;
		while (done < iters) {
			struct sl_rdma_wc wc[32];
			int k, j;

			while (posted < iters && posted - done < window) {
				uint64_t slot = lat ? 0 : posted % window;
				struct sl_rdma_send_wr wr = {
					.wr_id = posted,
					.opcode =
						tool == PT_SEND_BW ?
							SL_RDMA_WR_SEND :
						tool == PT_WRITE_BW ?
							SL_RDMA_WR_RDMA_WRITE :
							SL_RDMA_WR_RDMA_READ,
					.sge = { (uintptr_t)buf + slot * size,
						 (uint32_t)size,
						 sl_rdma_mr_lkey(mr) },
					.rkey = peer.rkey,
					.remote_addr =
						peer.vaddr +
						(lat ? 0 :
						       pt_roff(posted, size,
							       cycle)),
				};
				int e;

				tpost = sl_time_ns();
				e = sl_rdma_post_send(s->c->qp, &wr);
				if (e == -ENOMEM)
					break;
				if (e)
					cli_die("post_send: %s", strerror(-e));
				posted++;
			}
			sl_rdma_progress(s->c->qp);
			k = sl_rdma_poll_cq(s->c->cq, 32, wc);
			for (j = 0; j < k; j++) {
				if (wc[j].status != SL_RDMA_WC_SUCCESS)
					cli_die("request %" PRIu64 " completed "
						"with %s",
						wc[j].wr_id,
						sl_rdma_wc_status_str(
							wc[j].status));
				if (lat)
					cli_hist_record(h,
							sl_time_ns() - tpost);
				done++;
			}
			if (k)
				last = sl_time_ns();
			else if (cli_stop ||
				 sl_time_ns() - last > s->timeout_ns)
				cli_die("no completion after %" PRIu64
					" of %" PRIu64 " requests",
					done, iters);
		}
		t1 = sl_time_ns();
		secs = cli_secs(t1 - t0);
		mine.size = size;
		mine.iters = done;
		mine.bw_avg =
			secs > 0 ? (double)(done * size) / secs / 1048576.0 : 0;
		mine.bw_peak = mine.bw_avg;
		mine.msg_rate = secs > 0 ? (double)done / secs / 1e6 : 0;
		if (verify)
			bad = pt_read_back(s, &peer, size, iters, cycle,
					   &checked);
		if (tool != PT_READ_LAT && tool != PT_SEND_BW) {
			pt_shake(s, &me, &peer);
			pt_reports(s, &mine, &theirs);
		}
		pt_close(s, &me);
	}
	secs = cli_secs(t1 - t0);
	if (lat)
		snprintf(line, sizeof(line),
			 "%s with perftest: %" PRIu64 " x %" PRIu64
			 " B in %.3f s%s\n",
			 rd_test_name(test), done, size, secs,
			 tool == PT_WRITE_LAT ?
				 (bad ? ", DATA WRONG" : ", data checked") :
				 "");
	else
		snprintf(line, sizeof(line),
			 "%s with perftest: %" PRIu64 " x %" PRIu64
			 " B in %.3f s: %.2f MB/s, %.4f Mpps%s\n",
			 rd_test_name(test), done, size, secs, mine.bw_avg,
			 mine.msg_rate,
			 !verify ? "" :
			 bad	 ? ", READ BACK WRONG" :
				   ", read back and checked");
	json_object_object_add(r, "test",
			       json_object_new_string(rd_test_name(test)));
	json_object_object_add(r, "peer_tool",
			       json_object_new_string(pt_names[tool]));
	json_object_object_add(r, "mtu", json_object_new_int(128 << mtu));
	json_object_object_add(r, "size", json_object_new_uint64(size));
	json_object_object_add(r, "iters", json_object_new_uint64(done));
	json_object_object_add(r, "elapsed_s", json_object_new_double(secs));
	json_object_object_add(r, "bad", json_object_new_uint64(bad));
	if (verify)
		json_object_object_add(r, "read_back_bytes",
				       json_object_new_uint64(checked));
	if (lat)
		json_object_object_add(r, "latency_us", cli_json_hist_us(h));
	json_object_object_add(r, "qp", rd_json_qp(s->c->qp));
	json_object_object_add(r, "port", cli_json_port(s->c->port));
	pt_result(r, json, line);
	if (lat && !json)
		cli_print_hist_us(tool == PT_WRITE_LAT ?
					  "  one way (half a round trip):" :
					  "  latency:",
				  h);
	cli_hist_free(h);
	sl_rdma_dereg_mr(mr);
	free(buf);
	return bad ? 1 : 0;
}
