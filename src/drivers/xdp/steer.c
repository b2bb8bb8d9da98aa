// SPDX-License-Identifier: MIT
/*
 * Loader for the XDP steering program; see steer.h. The program object is
 * compiled at build time (bpf/meson.build) and linked in as a byte array, so
 * the library carries the exact program its loader was written for and
 * needs no file at run time.
 *
 * Attachment goes through a BPF link, never the netlink "set XDP fd" call:
 * a link belongs to its fd, so when the process dies, however it dies, the
 * kernel detaches the program and the interface is back to normal. That is
 * the "a crashed application leaves no XDP program behind" promise.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "core/log.h"
#include "drivers/xdp/steer.h"
#include "steer_abi.h" /* bpf/: the program's ABI */

extern const unsigned char sl_steer_bpf_obj[];
extern const size_t sl_steer_bpf_obj_len;

struct sl_steer {
	struct bpf_object *obj;
	int prog_fd;
	int rules_fd;
	int stats_fd;
	int xsks_fd;
	int link_fd; /* -1 when not attached */
	int ifindex;
};

_Static_assert((int)SL_STEER_RULE_ALL == (int)SL_STEER_ALL, "kind values");
_Static_assert((int)SL_STEER_RULE_UDP == (int)SL_STEER_UDP, "kind values");

/*
 * libbpf prints to stderr unless told otherwise, and the library never
 * prints: while we call libbpf its messages go to our log at debug level,
 * and the last warning (for a load, the verifier's verdict) is kept for the
 * error message. libbpf's print hook is process-wide, so the previous one
 * is put back after each call.
 */
static __thread char libbpf_msg[256];

SL_PRINTF(2, 0)
static int steer_libbpf_print(enum libbpf_print_level level, const char *fmt,
			      va_list ap)
{
	char line[1024];
	char *p, *last;
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	sl_dbg("libbpf: %s", line);
	if (level == LIBBPF_DEBUG || !n)
		return 0;
	/* a verifier log is many lines; its last one says why */
	last = line;
	for (p = line; *p; p++)
		if (*p == '\n' && p[1] && strncmp(p + 1, "--", 2))
			last = p + 1;
	sl_strlcpy(libbpf_msg, last, sizeof(libbpf_msg));
	return 0;
}

static libbpf_print_fn_t hook_libbpf(void)
{
	libbpf_msg[0] = '\0';
	return libbpf_set_print(steer_libbpf_print);
}

static void unhook_libbpf(libbpf_print_fn_t old)
{
	libbpf_set_print(old);
}

int sl_steer_rule_parse(const char *s, struct sl_steer_rule *r)
{
	unsigned long lo, hi;
	char *end;

	if (!s || !r)
		return sl_fail(EINVAL, "steer: no rule");
	if (!strcmp(s, "all")) {
		*r = (struct sl_steer_rule){ .kind = SL_STEER_RULE_ALL };
		return 0;
	}
	if (strncmp(s, "udp:", 4))
		goto bad;
	s += 4;
	if (*s < '0' || *s > '9')
		goto bad;
	errno = 0;
	lo = strtoul(s, &end, 10);
	hi = lo;
	if (*end == '-') {
		s = end + 1;
		if (*s < '0' || *s > '9')
			goto bad;
		hi = strtoul(s, &end, 10);
	}
	if (*end || errno || lo < 1 || hi > 65535 || lo > hi)
		goto bad;
	*r = (struct sl_steer_rule){ .kind = SL_STEER_RULE_UDP,
				     .lo = lo,
				     .hi = hi };
	return 0;
bad:
	return sl_fail(EINVAL,
		       "steer: bad rule '%s' (expected all, udp:PORT or "
		       "udp:LO-HI with ports 1-65535)",
		       s);
}

static int fill_conf(struct sl_steer_conf *c, const struct sl_steer_rule *rules,
		     unsigned n)
{
	unsigned i;

	if (n > SL_STEER_MAX_RULES)
		return sl_fail(E2BIG, "steer: %u rules, at most %d", n,
			       SL_STEER_MAX_RULES);
	if (n && !rules)
		return sl_fail(EINVAL, "steer: no rules array");
	memset(c, 0, sizeof(*c));
	for (i = 0; i < n; i++) {
		const struct sl_steer_rule *r = &rules[i];

		if (r->kind != SL_STEER_RULE_ALL &&
		    (r->kind != SL_STEER_RULE_UDP || r->lo > r->hi))
			return sl_fail(EINVAL, "steer: rule %u is invalid", i);
		c->rule[i].kind = r->kind;
		c->rule[i].lo = r->lo;
		c->rule[i].hi = r->hi;
	}
	c->n_rules = n;
	return 0;
}

int sl_steer_set_rules(struct sl_steer *s, const struct sl_steer_rule *rules,
		       unsigned n)
{
	struct sl_steer_conf conf;
	__u32 zero = 0;
	int err;

	if (!s)
		return sl_fail(EINVAL, "steer: no program");
	err = fill_conf(&conf, rules, n);
	if (err)
		return err;
	{
		struct sl_steer_conf old;

		/* the flags stay as they were */
		if (!bpf_map_lookup_elem(s->rules_fd, &zero, &old))
			conf.flags = old.flags;
	}
	if (bpf_map_update_elem(s->rules_fd, &zero, &conf, BPF_ANY))
		return sl_fail(errno, "steer: writing the rules: %s",
			       strerror(errno));
	return 0;
}

int sl_steer_add_flags(struct sl_steer *s, unsigned flags)
{
	struct sl_steer_conf conf;
	__u32 zero = 0;

	if (!s)
		return sl_fail(EINVAL, "steer: no program");
	/* the rules as they are, read back: only this process writes them */
	if (bpf_map_lookup_elem(s->rules_fd, &zero, &conf))
		return sl_fail(errno, "steer: reading the rules: %s",
			       strerror(errno));
	if ((conf.flags | flags) == conf.flags)
		return 0;
	conf.flags |= flags;
	if (bpf_map_update_elem(s->rules_fd, &zero, &conf, BPF_ANY))
		return sl_fail(errno, "steer: writing the flags: %s",
			       strerror(errno));
	return 0;
}

static int map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	return m ? bpf_map__fd(m) : -1;
}

int sl_steer_load(struct sl_steer **out, const struct sl_steer_rule *rules,
		  unsigned n)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "sl_steer");
	struct sl_steer_conf conf;
	struct bpf_program *prog;
	libbpf_print_fn_t old;
	struct sl_steer *s;
	int err;

	if (!out)
		return sl_fail(EINVAL, "steer: no output pointer");
	*out = NULL;
	err = fill_conf(&conf, rules, n);
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return sl_fail(ENOMEM, "steer: out of memory");
	s->link_fd = -1;

	old = hook_libbpf();
	s->obj = bpf_object__open_mem(sl_steer_bpf_obj, sl_steer_bpf_obj_len,
				      &oo);
	if (!s->obj) {
		err = sl_fail(errno, "steer: opening the embedded program: %s",
			      libbpf_msg[0] ? libbpf_msg : strerror(errno));
		goto fail;
	}
	err = bpf_object__load(s->obj);
	if (err == -EINVAL) {
		/* before Linux 5.18 no program takes multi-buffer frames
		 * (BPF_F_XDP_HAS_FRAGS): the same program without */
		bpf_object__close(s->obj);
		s->obj = bpf_object__open_mem(sl_steer_bpf_obj,
					      sl_steer_bpf_obj_len, &oo);
		prog = s->obj ? bpf_object__find_program_by_name(
					s->obj, SL_STEER_PROG_NAME) :
				NULL;
		err = prog ? bpf_program__set_flags(
				     prog,
				     bpf_program__flags(prog) &
					     ~(__u32)BPF_F_XDP_HAS_FRAGS) :
			     -ENOENT;
		if (!err)
			err = bpf_object__load(s->obj);
		if (!err)
			sl_dbg("steer: loaded without multi-buffer frames");
	}
	if (err) {
		err = sl_fail(-err,
			      "steer: loading the XDP program: %s%s%s (needs "
			      "CAP_BPF and CAP_NET_ADMIN)",
			      strerror(-err), libbpf_msg[0] ? ": " : "",
			      libbpf_msg);
		goto fail;
	}
	prog = bpf_object__find_program_by_name(s->obj, SL_STEER_PROG_NAME);
	s->prog_fd = prog ? bpf_program__fd(prog) : -1;
	s->rules_fd = map_fd(s->obj, SL_STEER_RULES_MAP);
	s->stats_fd = map_fd(s->obj, SL_STEER_STATS_MAP);
	s->xsks_fd = map_fd(s->obj, SL_STEER_XSKS_MAP);
	if (s->prog_fd < 0 || s->rules_fd < 0 || s->stats_fd < 0 ||
	    s->xsks_fd < 0) {
		err = sl_fail(ENOENT,
			      "steer: embedded object lacks the program "
			      "or its maps (build mismatch)");
		goto fail;
	}
	unhook_libbpf(old);
	err = sl_steer_set_rules(s, rules, n);
	if (err) {
		sl_steer_destroy(s);
		return err;
	}
	*out = s;
	return 0;
fail:
	unhook_libbpf(old);
	bpf_object__close(s->obj);
	free(s);
	return err;
}

int sl_steer_prog_fd(const struct sl_steer *s)
{
	return s ? s->prog_fd : -1;
}

int sl_steer_attach(struct sl_steer *s, int ifindex, enum sl_steer_mode mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	char who[160];
	int fd, err;

	if (!s || ifindex <= 0)
		return sl_fail(EINVAL, "steer: bad program or ifindex");
	if (s->link_fd >= 0)
		return sl_fail(EALREADY,
			       "steer: already attached to ifindex %d",
			       s->ifindex);
	if (mode == SL_STEER_MODE_SKB)
		lo.flags = XDP_FLAGS_SKB_MODE;
	else if (mode == SL_STEER_MODE_DRV)
		lo.flags = XDP_FLAGS_DRV_MODE;
	else
		return sl_fail(EINVAL, "steer: bad mode %d", (int)mode);

	fd = bpf_link_create(s->prog_fd, ifindex, BPF_XDP, &lo);
	if (fd < 0) {
		err = errno;
		if (sl_steer_find_attached(ifindex, who, sizeof(who)) <= 0)
			who[0] = '\0';
		return sl_fail(
			err,
			"steer: attaching to ifindex %d in %s mode: %s%s%s",
			ifindex, mode == SL_STEER_MODE_SKB ? "skb" : "drv",
			strerror(err), who[0] ? "; attached already: " : "",
			who);
	}
	s->link_fd = fd;
	s->ifindex = ifindex;
	return 0;
}

int sl_steer_detach(struct sl_steer *s)
{
	if (!s || s->link_fd < 0)
		return sl_fail(ENOENT, "steer: not attached");
	/* closing the only fd of the link detaches the program */
	close(s->link_fd);
	s->link_fd = -1;
	s->ifindex = 0;
	return 0;
}

int sl_steer_set_xsk(struct sl_steer *s, unsigned queue, int xsk_fd)
{
	__u32 key = queue;

	if (!s)
		return sl_fail(EINVAL, "steer: no program");
	if (queue >= SL_STEER_MAX_QUEUES)
		return sl_fail(ERANGE,
			       "steer: queue %u beyond the %d supported", queue,
			       SL_STEER_MAX_QUEUES);
	if (xsk_fd < 0) {
		if (bpf_map_delete_elem(s->xsks_fd, &key) && errno != ENOENT)
			return sl_fail(errno, "steer: unbinding queue %u: %s",
				       queue, strerror(errno));
		return 0;
	}
	if (bpf_map_update_elem(s->xsks_fd, &key, &xsk_fd, BPF_ANY))
		return sl_fail(errno, "steer: binding queue %u: %s", queue,
			       strerror(errno));
	return 0;
}

int sl_steer_read_stats(struct sl_steer *s, struct sl_steer_stats *st)
{
	struct sl_steer_counters *v;
	__u32 zero = 0;
	int ncpu, i;

	if (!s || !st)
		return sl_fail(EINVAL, "steer: no program or stats");
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return sl_fail(-ncpu, "steer: counting CPUs failed");
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return sl_fail(ENOMEM, "steer: out of memory");
	if (bpf_map_lookup_elem(s->stats_fd, &zero, v)) {
		int err = errno;

		free(v);
		return sl_fail(err, "steer: reading counters: %s",
			       strerror(err));
	}
	memset(st, 0, sizeof(*st));
	for (i = 0; i < ncpu; i++) {
		st->matched += v[i].matched;
		st->passed += v[i].passed;
		st->redirect_failed += v[i].redirect_failed;
	}
	free(v);
	return 0;
}

void sl_steer_destroy(struct sl_steer *s)
{
	if (!s)
		return;
	if (s->link_fd >= 0)
		close(s->link_fd);
	bpf_object__close(s->obj);
	free(s);
}

/* Whether program id is ours: named sl_steer and using a map named
 * sl_steer_rules (a name alone is too easy to share by accident). Writes its
 * name to name. Returns 1 ours, 0 not, -errno. */
static int prog_is_ours(__u32 id, char *name, size_t len)
{
	struct bpf_prog_info info;
	__u32 ids[16], ilen = sizeof(info), i, nmaps;
	int fd, ours = 0;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = SL_ARRAY_SIZE(ids);
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	sl_strlcpy(name, info.name, len);
	if (strcmp(info.name, SL_STEER_PROG_NAME))
		return 0;
	nmaps = SL_MIN(info.nr_map_ids, SL_ARRAY_SIZE(ids));
	for (i = 0; i < nmaps && !ours; i++) {
		struct bpf_map_info mi;
		__u32 mlen = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(ids[i]);

		if (mfd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		if (!bpf_obj_get_info_by_fd(mfd, &mi, &mlen) &&
		    !strcmp(mi.name, SL_STEER_RULES_MAP))
			ours = 1;
		close(mfd);
	}
	return ours;
}

int sl_steer_find_attached(int ifindex, char *who, size_t len)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	static const char *const modes[] = { "drv", "skb", "hw" };
	__u32 ids[3];
	size_t used = 0;
	int found = SL_STEER_FOUND_NONE, i, err;
	libbpf_print_fn_t old;

	if (who && len)
		who[0] = '\0';
	if (ifindex <= 0)
		return sl_fail(EINVAL, "steer: bad ifindex %d", ifindex);
	old = hook_libbpf();
	err = bpf_xdp_query(ifindex, 0, &q);
	unhook_libbpf(old);
	if (err)
		return sl_fail(-err, "steer: querying XDP on ifindex %d: %s",
			       ifindex, strerror(-err));
	ids[0] = q.drv_prog_id;
	ids[1] = q.skb_prog_id;
	ids[2] = q.hw_prog_id;
	for (i = 0; i < 3; i++) {
		char name[32] = "?";
		int ours;

		if (!ids[i])
			continue;
		ours = prog_is_ours(ids[i], name, sizeof(name));
		if (ours <= 0 || found == SL_STEER_FOUND_OTHER)
			found = SL_STEER_FOUND_OTHER;
		else
			found = SL_STEER_FOUND_OURS;
		if (who && used < len) {
			int w = snprintf(who + used, len - used,
					 "%sid %u %s (%s) mode %s",
					 used ? "; " : "", ids[i], name,
					 ours > 0 ? "sluice" : "not sluice",
					 modes[i]);
			if (w > 0)
				used += (size_t)w;
		}
	}
	return found;
}
