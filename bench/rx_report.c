// SPDX-License-Identifier: MIT
/*
 * rx_bench's report: the table of rows, the speed goals (reported, never
 * enforced) and the JSON. Split from rx_bench.c, which runs the rows.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rx_bench.h"

/* ---- report ------------------------------------------------------------- */

static const struct row *row_get(const char *key)
{
	for (unsigned i = 0; i < rx_n_rows; i++)
		if (!strcmp(rx_rows[i].key, key))
			return rx_rows[i].ran ? &rx_rows[i] : NULL;
	return NULL;
}

/* The better of two rx_rows that ran, or either, or NULL. */
static const struct row *best_of(const char *a, const char *b)
{
	const struct row *ra = row_get(a), *rb = row_get(b);

	if (ra && rb)
		return ra->rx_mpps >= rb->rx_mpps ? ra : rb;
	return ra ? ra : rb;
}

struct goal {
	const char *what;
	const struct row *num, *den;
	double factor;
	/* out */
	bool known, met;
	double ratio;
};

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

int rx_report(const char *header)
{
	const struct row *sock = row_get("udp") ? row_get("udp") :
						  row_get("recvmmsg");
	const struct row *ceil = best_of("drop-generic", "drop-native");
	const struct row *xdp = best_of("xdp-generic", "xdp-native");
	struct goal goals[] = {
		{ "xdp >= 1.2x testpmd AF_XDP", xdp, row_get("testpmd-af_xdp"),
		  1.2 },
		{ "xdp >= 3x kernel socket", xdp, sock, 3.0 },
		{ "xdp >= 0.5x XDP-drop ceiling", xdp, ceil, 0.5 },
	};
	FILE *j = NULL;
	unsigned i;

	printf("\n%s\n", header);
	printf("%-34s %8s %8s %8s %8s  %-12s %s\n", "receiver (B, CPU 1)",
	       "rx Mpps", "offered", "x socket", "x ceil", "mode", "note");
	for (i = 0; i < rx_n_rows; i++) {
		const struct row *r = &rx_rows[i];

		if (!r->ran) {
			printf("%-34s %8s %8s %8s %8s  %-12s %s\n", r->label,
			       "-", "-", "-", "-", "-",
			       r->note[0] ? r->note : "not selected");
			continue;
		}
		printf("%-34s %8.3f %8.3f", r->label, r->rx_mpps,
		       r->offered_mpps);
		if (sock && sock->rx_mpps > 0)
			printf(" %8.2f", r->rx_mpps / sock->rx_mpps);
		else
			printf(" %8s", "-");
		if (ceil && ceil->rx_mpps > 0)
			printf(" %8.2f", r->rx_mpps / ceil->rx_mpps);
		else
			printf(" %8s", "-");
		printf("  %-12s %s\n", r->mode, r->note);
	}
	printf("x socket: ratio to %s; x ceil: ratio to %s\n",
	       sock ? sock->label : "(no socket row)",
	       ceil ? ceil->label : "(no ceiling row)");
	printf("goals (xdp = %s):\n", xdp ? xdp->label : "no xdp row");
	for (i = 0; i < ARRAY_SIZE(goals); i++) {
		struct goal *g = &goals[i];

		g->known = g->num && g->den && g->den->rx_mpps > 0;
		if (!g->known) {
			printf("  %-30s unknown (%s did not run)\n", g->what,
			       !g->num ? "the xdp row" : "its reference row");
			continue;
		}
		g->ratio = g->num->rx_mpps / g->den->rx_mpps;
		g->met = g->ratio >= g->factor;
		printf("  %-30s %s: %.3f / %.3f Mpps = %.2fx (%s)\n", g->what,
		       g->met ? "met" : "NOT met", g->num->rx_mpps,
		       g->den->rx_mpps, g->ratio, g->den->label);
	}

	if (!rx_cfg.json)
		return 0;
	j = fopen(rx_cfg.json, "w");
	if (!j) {
		fprintf(stderr, "rx_bench: %s: %s\n", rx_cfg.json,
			strerror(errno));
		return 1;
	}
	/* a handful of numbers: fprintf keeps json-c out of the benchmarks */
	fprintf(j, "{\n  \"header\": ");
	json_str(j, header);
	fprintf(j,
		",\n  \"frame_len\": %d,\n  \"duration_s\": %.3f,\n"
		"  \"warmup_s\": %.3f,\n  \"rx_rows\": [",
		FRAME_LEN, rx_cfg.duration, rx_cfg.warmup);
	for (i = 0; i < rx_n_rows; i++) {
		const struct row *r = &rx_rows[i];

		fprintf(j, "%s\n    {\"key\": ", i ? "," : "");
		json_str(j, r->key);
		fprintf(j, ", \"label\": ");
		json_str(j, r->label);
		fprintf(j, ", \"ran\": %s", r->ran ? "true" : "false");
		if (r->ran) {
			fprintf(j,
				", \"rx_mpps\": %.4f, \"offered_mpps\": %.4f",
				r->rx_mpps, r->offered_mpps);
			if (sock && sock->rx_mpps > 0)
				fprintf(j, ", \"x_socket\": %.3f",
					r->rx_mpps / sock->rx_mpps);
			if (ceil && ceil->rx_mpps > 0)
				fprintf(j, ", \"x_ceiling\": %.3f",
					r->rx_mpps / ceil->rx_mpps);
		}
		fprintf(j, ", \"mode\": ");
		json_str(j, r->mode);
		fprintf(j, ", \"note\": ");
		json_str(j, r->note);
		fputc('}', j);
	}
	fprintf(j, "\n  ],\n  \"goals\": [");
	for (i = 0; i < ARRAY_SIZE(goals); i++) {
		const struct goal *g = &goals[i];

		fprintf(j, "%s\n    {\"goal\": ", i ? "," : "");
		json_str(j, g->what);
		if (g->known)
			fprintf(j,
				", \"ratio\": %.3f, \"target\": %.2f, "
				"\"met\": %s}",
				g->ratio, g->factor, g->met ? "true" : "false");
		else
			fprintf(j, ", \"target\": %.2f, \"met\": null}",
				g->factor);
	}
	fprintf(j, "\n  ]\n}\n");
	if (fclose(j)) {
		fprintf(stderr, "rx_bench: %s: %s\n", rx_cfg.json,
			strerror(errno));
		return 1;
	}
	return 0;
}
