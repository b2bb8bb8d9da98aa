// SPDX-License-Identifier: MIT
/*
 * sluice bench --svg: one self-contained chart of the report, throughput
 * and round-trip latency per path, with the skipped rows and why. Plain
 * SVG text, no library: a browser or an image viewer opens it.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* ---- SVG ---------------------------------------------------------------- */

static void svg_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else
			fputc(*s, f);
	}
}

/* The first n characters of s, escaped, with "..." when cut. */
static void svg_text_n(FILE *f, const char *s, size_t n)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%.*s%s", (int)n, s,
		 strlen(s) > n ? "..." : "");
	svg_text(f, buf);
}

/* log10 of a round trip in us, from 1 us (0) up */
static double lg(double us)
{
	return us > 1 ? log10(us) : 0;
}

/*
 * Two panels side by side, one line per path: throughput (rx and fwd
 * bars, Mpps, linear) and round trip (a bar to p50, a whisker to p99.9
 * with a tick at p99, microseconds on a log scale from 1 us, so that a p50
 * of tens of us and a tail of milliseconds both show). Hand-written: no dependency.
 */
/*
 * A skipped row's reason, across both charts (it has no bars), on two
 * lines of a row's height, cut at a space: at 10 px a line of SVG_LINE
 * characters fits the width of the two charts.
 */
#define SVG_LINE 110

static void svg_skipped(FILE *f, const char *why, int x, int y)
{
	size_t len = strlen(why), cut = len;
	char line[SVG_LINE + 1];

	if (len > SVG_LINE) {
		for (cut = SVG_LINE; cut > SVG_LINE / 2 && why[cut] != ' ';
		     cut--)
			;
		if (why[cut] != ' ')
			cut = SVG_LINE;
	}
	fprintf(f,
		"<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#888\">"
		"skipped: ",
		x, y + 12);
	snprintf(line, sizeof(line), "%.*s", (int)cut, why);
	svg_text(f, line); /* no "...": the second line goes on */
	fprintf(f, "</text>\n");
	if (cut >= len)
		return;
	while (why[cut] == ' ')
		cut++;
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#888\">", x,
		y + 26);
	svg_text_n(f, why + cut, SVG_LINE);
	fprintf(f, "</text>\n");
}

int bench_write_svg(struct bench *b, const char *header)
{
	const int lw = 150, pw = 330, gap = 40, top = 70, lh = 34;
	struct row *shown[32];
	unsigned n = 0, i;
	double max_rate = 0, max_us = 0;
	int w, h;
	FILE *f;

	for (i = 0; i < b->n_rows && n < SL_ARRAY_SIZE_T(shown); i++) {
		struct row *r = &b->rows[i];

		if (!r->ran && !r->skipped[0])
			continue;
		shown[n++] = r;
		if (r->ran) {
			max_rate = fmax(max_rate,
					fmax(r->rx_mpps,
					     r->have_fwd ? r->fwd_mpps : 0));
			if (r->have_rtt)
				max_us = fmax(max_us, r->p999);
		}
	}
	if (max_rate <= 0)
		max_rate = 1;
	if (max_us <= 0)
		max_us = 1;
	w = lw + 2 * pw + gap + 30;
	h = top + (int)n * lh + 60;
	f = fopen(b->cfg.svg, "w");
	if (!f) {
		fprintf(stderr, "sluice: bench: --svg %s: %s\n", b->cfg.svg,
			strerror(errno));
		return 1;
	}
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"sans-serif\" font-size=\"12\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
		"<text x=\"10\" y=\"20\" font-size=\"15\" "
		"font-weight=\"bold\">sluice bench: ",
		w, h, w, h);
	svg_text(f, header);
	fprintf(f,
		"</text>\n"
		"<text x=\"%d\" y=\"50\" font-weight=\"bold\">Throughput, "
		"Mpps (64-byte frames)</text>\n"
		"<rect x=\"%d\" y=\"40\" width=\"10\" height=\"10\" "
		"fill=\"#3b75af\"/><text x=\"%d\" y=\"50\">rx</text>\n"
		"<rect x=\"%d\" y=\"40\" width=\"10\" height=\"10\" "
		"fill=\"#ef8636\"/><text x=\"%d\" y=\"50\">fwd</text>\n"
		"<text x=\"%d\" y=\"50\" font-weight=\"bold\">Round trip, us "
		"(bar p50, tick p99, line p99.9)</text>\n",
		lw, lw + 230, lw + 244, lw + 270, lw + 284, lw + pw + gap);
	for (double us = 1; us <= fmax(max_us, 10) * 1.001; us *= 10) {
		double x = lw + pw + gap +
			   (pw - 130) / log10(fmax(max_us, 10)) * lg(us);

		fprintf(f,
			"<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
			"stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%d\" "
			"font-size=\"9\" fill=\"#777\" "
			"text-anchor=\"middle\">%g</text>\n",
			x, top - 4, x, top + (int)n * lh, x,
			top + (int)n * lh + 12, us);
	}
	fprintf(f,
		"<text x=\"%d\" y=\"%d\" font-size=\"9\" fill=\"#777\">"
		"us, log scale</text>\n",
		lw + 2 * pw + gap - 120, top + (int)n * lh + 24);
	for (i = 0; i < n; i++) {
		struct row *r = shown[i];
		int y = top + (int)i * lh, x2 = lw + pw + gap;

		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
			lw - 8, y + 16);
		svg_text(f, r->path);
		fprintf(f, "</text>\n");
		if (!r->ran) {
			svg_skipped(f, r->skipped, lw, y);
			continue;
		}
		fprintf(f,
			"<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"12\" "
			"fill=\"#3b75af\"/><text x=\"%.1f\" y=\"%d\" "
			"font-size=\"10\">%.3f</text>\n",
			lw, y + 2, (pw - 50) * r->rx_mpps / max_rate,
			lw + (pw - 50) * r->rx_mpps / max_rate + 3, y + 12,
			r->rx_mpps);
		if (r->have_fwd)
			fprintf(f,
				"<rect x=\"%d\" y=\"%d\" width=\"%.1f\" "
				"height=\"12\" fill=\"#ef8636\"/><text "
				"x=\"%.1f\" y=\"%d\" font-size=\"10\">%.3f"
				"</text>\n",
				lw, y + 16, (pw - 50) * r->fwd_mpps / max_rate,
				lw + (pw - 50) * r->fwd_mpps / max_rate + 3,
				y + 26, r->fwd_mpps);
		if (r->have_rtt) {
			/* log scale from 1 us: p50 and a ms tail both show */
			double s = (pw - 130) / log10(fmax(max_us, 10));

			fprintf(f,
				"<rect x=\"%d\" y=\"%d\" width=\"%.1f\" "
				"height=\"16\" fill=\"#5a9e5a\"/>\n"
				"<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
				"y2=\"%d\" stroke=\"#333\"/>\n"
				"<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
				"y2=\"%d\" stroke=\"#333\" "
				"stroke-width=\"2\"/>\n"
				"<text x=\"%.1f\" y=\"%d\" font-size=\"10\">"
				"%.1f / %.1f / %.1f</text>\n",
				x2, y + 4, s * lg(r->p50), x2 + s * lg(r->p50),
				y + 12, x2 + s * lg(r->p999), y + 12,
				x2 + s * lg(r->p99), y + 6, x2 + s * lg(r->p99),
				y + 18, x2 + s * lg(r->p999) + 4, y + 16,
				r->p50, r->p99, r->p999);
		}
	}
	fprintf(f,
		"<text x=\"10\" y=\"%d\" font-size=\"10\" fill=\"#555\">"
		"RTT labels: p50 / p99 / p99.9 us. Best of %u round(s); "
		"see the table for modes, CPU per packet and the risk "
		"columns.</text>\n</svg>\n",
		h - 20, b->cfg.reps);
	if (fclose(f)) {
		fprintf(stderr, "sluice: bench: --svg %s: %s\n", b->cfg.svg,
			strerror(errno));
		return 1;
	}
	return 0;
}
