// SPDX-License-Identifier: MIT
/*
 * sluice rdma server --oob perftest: sluice as the server of perftest's
 * ib_* clients. It registers a region, goes through perftest's exchange
 * (rdma_pt_xchg.c) and then does what the client's tool expects of its
 * server: ib_write_lat's ping-pong of writes on the last byte, and for
 * the other tools nothing but progress while it waits for the client's
 * closing handshake (receives posted for ib_send_bw). A perftest server
 * does not learn the client's message size or count, so this one is told
 * the tool (--tool) and, where the server's run depends on them, -s and
 * -n (--size, --iters) as perftest's server is; with them it checks what
 * arrived.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rdma_pt.h"
#include "rdma_tool.h"
#include "sluice.h"

/* sluice as the server of a perftest client. */
int pt_server(struct pt_sess *s, enum pt_tool tool, uint64_t size,
	      uint64_t iters, uint64_t region, uint8_t max_mtu,
	      uint16_t oob_port, bool json)
{
	struct sl_addr oob, local;
	struct pt_dest me, peer;
	struct pt_report mine = { 0 }, theirs = { 0 };
	struct json_object *r = json_object_new_object();
	uint64_t cycle, t0, bad = 0, sum = 0, i;
	uint8_t mtu, *buf;
	struct sl_rdma_mr *mr;
	int lfd, rc = 0;
	bool gone = false;
	char line[256], abuf[64];

	rd_oob_addr(s->c, oob_port, &oob);
	lfd = rd_listen(&oob);
	if (!json)
		fprintf(stderr,
			"sluice: rdma: waiting for %s on TCP %s (perftest's "
			"exchange)\n",
			pt_names[tool],
			sl_addr_format(&oob, abuf, sizeof(abuf)));
	s->fd = rd_accept(lfd);
	if (s->fd < 0)
		return 1;
	rd_local_addr(s->c, s->fd, &local);
	if (local.family != AF_INET)
		cli_die("perftest's exchange here is for IPv4 RoCE v2 GIDs");

	pt_prologue(s, max_mtu, &mtu, &cycle);
	/* what the client's walk touches; for SENDs room for a queue of
	 * receives */
	if (!region)
		region = tool == PT_SEND_BW ? size * RD_SQ_DEPTH :
			 size > cycle	    ? size :
					      cycle;
	if (region > (64u << 20) && tool == PT_SEND_BW)
		region = size > (64u << 20) ? size : 64u << 20;
	/* write_lat: the client's writes land in the first half, ours come
	 * from the second */
	buf = aligned_alloc(4096, (2 * region + 4095) & ~(uint64_t)4095);
	if (!buf)
		cli_die("--buffer %" PRIu64 ": out of memory", region);
	memset(buf, 0, 2 * region);
	mr = sl_rdma_reg_mr(s->c->pd, buf, region,
			    SL_RDMA_ACCESS_LOCAL_WRITE |
				    SL_RDMA_ACCESS_REMOTE_WRITE |
				    SL_RDMA_ACCESS_REMOTE_READ |
				    SL_RDMA_ACCESS_REMOTE_ATOMIC);
	if (!mr)
		cli_die("registering %" PRIu64 " bytes: %s", region,
			sl_last_error());
	pt_my_dest(s, &local, mr, (uintptr_t)buf, &me);
	pt_shake(s, &me, &peer);
	pt_connect(s, &local, me.psn, &peer, mtu);
	if (tool == PT_SEND_BW) {
		/* receives in message-sized slots before the last sync, as
		 * perftest's server posts them */
		s->mr = mr;
		s->rbuf = buf;
		s->rslot = (uint32_t)(size ? size : 1);
		for (i = 0; i < RD_SQ_DEPTH && (i + 1) * s->rslot <= region;
		     i++) {
			struct sl_rdma_sge sge = { (uintptr_t)buf +
							   i * s->rslot,
						   s->rslot,
						   sl_rdma_mr_lkey(mr) };

			if (sl_rdma_post_recv(s->c->qp, PT_RECV_ID + i, &sge))
				cli_die("post_recv: %s", sl_last_error());
		}
		if (!i)
			cli_die("--size %" PRIu64 " is over --buffer %" PRIu64,
				size, region);
	}
	for (i = 0; i < pt_syncs(tool); i++)
		pt_shake(s, &me, &peer);
	if (tool == PT_SEND_BW)
		pt_shake(s, &me, &peer);
	t0 = sl_time_ns();

	if (tool == PT_WRITE_LAT) {
		/* ping-pong on the last byte: perftest's server writes first
		 * and then answers each write it sees */
		struct sl_rdma_mr *smr =
			sl_rdma_reg_mr(s->c->pd, buf + region, region,
				       SL_RDMA_ACCESS_LOCAL_WRITE);
		volatile uint8_t *poll_b = buf + size - 1;
		uint8_t *post_b = buf + region + size - 1;
		uint64_t scnt = 0, rcnt = 0, ccnt = 0, last = sl_time_ns();

		if (!smr || size > region)
			cli_die("write_lat buffers: %s", sl_last_error());
		while (scnt < iters || ccnt < iters || rcnt < iters) {
			if (rcnt < iters && scnt) {
				rcnt++;
				while (*poll_b != (uint8_t)rcnt) {
					sl_rdma_progress(s->c->qp);
					pt_reap(s);
					if (cli_stop || s->wc_errors ||
					    sl_time_ns() - last > s->timeout_ns)
						cli_die("write_lat: no write %" PRIu64
							" from the client%s",
							rcnt,
							s->wc_errors ?
								" (a request "
								"failed)" :
								"");
				}
				last = sl_time_ns();
				/* perftest's buffer is zeros but for the
				 * counter */
				for (i = 0; i + 1 < size; i++)
					bad += buf[i] != 0;
			}
			if (scnt < iters) {
				struct sl_rdma_send_wr wr = {
					.opcode = SL_RDMA_WR_RDMA_WRITE,
					.sge = { (uintptr_t)buf + region,
						 (uint32_t)size,
						 sl_rdma_mr_lkey(smr) },
					.rkey = peer.rkey,
					.remote_addr = peer.vaddr,
				};

				*post_b = (uint8_t)++scnt;
				while (sl_rdma_post_send(s->c->qp, &wr) ==
				       -ENOMEM)
					sl_rdma_progress(s->c->qp);
			}
			while (ccnt < scnt) {
				struct sl_rdma_wc wc;

				sl_rdma_progress(s->c->qp);
				if (sl_rdma_poll_cq(s->c->cq, 1, &wc) != 1) {
					if (cli_stop ||
					    sl_time_ns() - last > s->timeout_ns)
						cli_die("write_lat: no completion");
					continue;
				}
				if (wc.status != SL_RDMA_WC_SUCCESS)
					cli_die("write_lat: a write completed "
						"with %s",
						sl_rdma_wc_status_str(
							wc.status));
				ccnt++;
			}
		}
		/* the client's last write is acknowledged by our progress;
		 * a little more so its ACK goes out */
		for (i = 0; i < 1000; i++)
			sl_rdma_progress(s->c->qp);
		close(s->fd);
		sl_rdma_dereg_mr(smr);
		snprintf(line, sizeof(line),
			 "rdma server (perftest): %s: %" PRIu64 " x %" PRIu64
			 " B ping-pong%s\n",
			 pt_names[tool], iters, size,
			 bad ? ", DATA WRONG" : ", data checked");
	} else {
		/* passive: the client's requests are served while we wait
		 * for its closing handshake */
		char km[PT_KEYS], kt[PT_KEYS];
		const char *why = "";

		/* the client's end of the run; a client whose request failed
		 * leaves instead: say so with the counters */
		pt_keys_fmt(km, &me);
		if (pt_xchg_try(s, km, kt, PT_KEYS, &why)) {
			cli_warnx("%s left before its end: %s", pt_names[tool],
				  why);
			gone = true;
		} else if (tool == PT_READ_LAT || tool == PT_SEND_BW) {
			/* that was the close's handshake */
			(void)rd_write_full(s->fd, "done", sizeof("done"));
		} else {
			pt_reports(s, &mine, &theirs);
			pt_close(s, &me);
		}
		if (tool == PT_SEND_BW) {
			/* perftest's client counts its sends complete when
			 * acknowledged: they were all received */
			bad = s->recvs != iters ||
			      s->recv_bytes != iters * size;
		} else if (tool == PT_ATOMIC_BW) {
			/* fetch-and-add of 1 (perftest's ATOMIC_ADD_VALUE)
			 * on the 8-byte targets of its walk */
			for (i = 0; i + 8 <= region; i += pt_inc(8)) {
				uint64_t v;

				memcpy(&v, buf + i, 8);
				sum += v;
			}
			bad = sum != iters;
		}
		if (tool == PT_SEND_BW)
			snprintf(line, sizeof(line),
				 "rdma server (perftest): %s: %" PRIu64
				 " receives, %" PRIu64
				 " bytes (expected %" PRIu64 " x %" PRIu64
				 ")%s\n",
				 pt_names[tool], s->recvs, s->recv_bytes, iters,
				 size,
				 bad ? ", COUNT WRONG" : ", all received");
		else if (tool == PT_ATOMIC_BW)
			snprintf(line, sizeof(line),
				 "rdma server (perftest): %s: targets sum to "
				 "%" PRIu64 " (expected %" PRIu64 ")%s\n",
				 pt_names[tool], sum, iters,
				 bad ? ", DATA WRONG" : ", data checked");
		else if (tool == PT_READ_LAT)
			snprintf(line, sizeof(line),
				 "rdma server (perftest): %s: done\n",
				 pt_names[tool]);
		else
			snprintf(line, sizeof(line),
				 "rdma server (perftest): %s: the client "
				 "reports %" PRIu64 " x %" PRIu64
				 " B, %.2f MB/s\n",
				 pt_names[tool], theirs.iters, theirs.size,
				 theirs.bw_avg);
	}
	if (gone)
		rc = 1;
	if (s->wc_errors) {
		rc = 1;
		cli_warnx("%" PRIu64 " work completions failed, the first with "
			  "%s",
			  s->wc_errors, sl_rdma_wc_status_str(s->first_err));
	}
	json_object_object_add(r, "tool",
			       json_object_new_string(pt_names[tool]));
	json_object_object_add(r, "role", json_object_new_string("server"));
	json_object_object_add(r, "mtu", json_object_new_int(128 << mtu));
	json_object_object_add(r, "size", json_object_new_uint64(size));
	json_object_object_add(r, "iters", json_object_new_uint64(iters));
	json_object_object_add(r, "recvs", json_object_new_uint64(s->recvs));
	json_object_object_add(r, "bad", json_object_new_uint64(bad));
	json_object_object_add(r, "peer_left_early",
			       json_object_new_boolean(gone));
	json_object_object_add(
		r, "elapsed_s",
		json_object_new_double(cli_secs(sl_time_ns() - t0)));
	if (tool != PT_SEND_BW && tool < PT_WRITE_LAT) {
		json_object_object_add(r, "peer_bw_avg_MBps",
				       json_object_new_double(theirs.bw_avg));
		json_object_object_add(r, "peer_iters",
				       json_object_new_uint64(theirs.iters));
	}
	json_object_object_add(r, "qp", rd_json_qp(s->c->qp));
	json_object_object_add(r, "port", cli_json_port(s->c->port));
	pt_result(r, json, line);
	sl_rdma_dereg_mr(mr);
	free(buf);
	return rc || bad ? 1 : 0;
}
