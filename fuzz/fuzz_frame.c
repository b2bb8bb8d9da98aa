// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the frame parser: any byte string must parse to an
 * error or to offsets that stay inside the frame, and checksum verification
 * of a parsed frame must only read what the parser vouched for. The input
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
