// SPDX-License-Identifier: MIT
/*
 * Fuzz the match rules: the input is a rule string, a newline, then a
 * frame. The parser must not misbehave on any string; when it accepts one,
 * the compiled classic BPF program, run by libpcap's interpreter, must give
 * the reference matcher's answer on the frame, and what the parser accepts
 * must survive a format/parse round trip.
 */
#include <sys/types.h>

#include <pcap/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "net/match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sock_filter prog[SL_MATCH_CBPF_MAX];
	const uint8_t *nl = memchr(data, '\n', size);
	size_t slen = nl ? (size_t)(nl - data) : size;
	struct sl_match m, again;
	char s[512], back[512];
	const uint8_t *frame = nl ? nl + 1 : data + size;
	size_t flen = size - (size_t)(frame - data);
	unsigned got;
	bool want;
	int n;

	if (slen >= sizeof(s))
		return 0;
	memcpy(s, data, slen);
	s[slen] = '\0';
	if (sl_match_parse(s, &m) != 0)
		return 0;
	sl_match_format(&m, back, sizeof(back));
	if (sl_match_parse(back, &again) != 0 ||
	    memcmp(&m, &again, sizeof(m)) != 0)
		abort();
	n = sl_match_cbpf(&m, prog, SL_MATCH_CBPF_MAX);
	if (n <= 0)
		abort();
	want = sl_match_frame(&m, frame, flen);
	got = bpf_filter((const struct bpf_insn *)prog, frame, (u_int)flen,
			 (u_int)flen);
	if (got != (want ? SL_MATCH_SNAP : 0))
		abort();
	return 0;
}
