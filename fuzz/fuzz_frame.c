// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the frame parser: any byte string must parse to an
 * error or to offsets that stay inside the frame, and checksum verification
 * of a parsed frame must only read what the parser vouched for. The
 * checksum state and the software fill agree with it: a frame whose L4
 * checksum was filled is GOOD (or NONE where there is none to fill) and a
 * state is never UNKNOWN once found. The input
 * is copied to an exactly sized heap buffer so ASan sees a one-byte
 * overread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/net.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *frame = malloc(size ? size : 1);
	struct sl_frame f;
	int rc;

	if (!frame)
		return 0;
	memcpy(frame, data, size);
	rc = sl_frame_parse(frame, size, &f);
	if (rc != 0) {
		check(rc == -EMSGSIZE || rc == -EBADMSG || rc == -ELOOP);
		free(frame);
		return 0;
	}
	check(f.frame_len == size);
	check(f.n_vlan <= SL_VLAN_MAX_TAGS);
	check(f.l3 <= SL_L3_IPV6);
	check(f.l3_off >= SL_ETH_HLEN && f.l3_off <= size);
	check(f.l3_off <= f.l4_off && f.l4_off <= f.payload_off);
	check((size_t)f.payload_off + f.payload_len <= size);
	rc = sl_frame_verify_csum(frame, &f);
	check(rc == 0 || rc == -EBADMSG);
	{
		enum sl_csum l3, l4;

		sl_frame_csum_state(frame, &f, &l3, &l4);
		check(l3 == SL_CSUM_GOOD || l3 == SL_CSUM_BAD ||
		      l3 == SL_CSUM_NONE);
		check(l4 != SL_CSUM_UNKNOWN);
		(void)sl_frame_csum_is_seed(frame, &f);
		rc = sl_frame_csum_fill(frame, &f,
					SL_CSUM_FILL_L3 | SL_CSUM_FILL_L4);
		check(rc == 0 || rc == -EPROTONOSUPPORT);
		sl_frame_csum_state(frame, &f, &l3, &l4);
		check(l3 != SL_CSUM_BAD);
		/* filled: right; or nothing to fill; or a UDP/IPv6 whose
		 * computed sum is stored as 0xffff (never 0): right too */
		check(rc != 0 || l4 == SL_CSUM_GOOD);
	}
	/* touch every byte the parser reported, so ASan checks them */
	if (f.payload_len) {
		volatile uint8_t sink = 0;

		for (size_t i = 0; i < f.payload_len; i++)
			sink ^= frame[f.payload_off + i];
		(void)sink;
	}
	free(frame);
	return 0;
}
