// SPDX-License-Identifier: MIT
/*
 * Ring tests: construction and its errors, burst versus bulk at the edges,
 * wrap-around of the slots and of the 32-bit positions, counts, and
 * multi-threaded stress runs that check every item comes out exactly once
 * (and in order where the ring promises it) in each producer/consumer mode.
 *
 * The stress size is SL_RING_STRESS_ITEMS per producer, smaller by default
 * under sanitizers so the run stays well under 20 s on two cores.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "sltest.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

#define SL_ARRAY_SIZE_(a) (sizeof(a) / sizeof((a)[0]))
#define SL_MIN_(a, b) ((a) < (b) ? (a) : (b))

static const unsigned modes[] = {
	0,
	SL_RING_SP_ENQ,
	SL_RING_SC_DEQ,
	SL_RING_SP_ENQ | SL_RING_SC_DEQ,
};

/* Items are tagged integers: nothing is ever dereferenced. */
static void *item(uintptr_t v)
{
	return (void *)v;
}

static void test_create(void **state)
{
	static const unsigned good[] = { 1, 2, 64, 1024, 1u << 16 };
	unsigned i, m;

	(void)state;
	for (i = 0; i < SL_ARRAY_SIZE_(good); i++) {
		for (m = 0; m < 4; m++) {
			struct sl_ring *r = sl_ring_create(good[i], modes[m]);

			assert_non_null(r);
			assert_int_equal(sl_ring_capacity(r), good[i]);
			assert_int_equal(sl_ring_count(r), 0);
			assert_int_equal(sl_ring_free_count(r), good[i]);
			assert_true(sl_ring_empty(r));
			assert_false(sl_ring_full(r));
			sl_ring_destroy(r);
		}
	}
}

static void test_create_bad(void **state)
{
	static const unsigned bad[] = {
		0, 3, 1000, 1025, SL_RING_SIZE_MAX * 2u, 0xffffffffu
	};
	unsigned i;

	(void)state;
	for (i = 0; i < SL_ARRAY_SIZE_(bad); i++) {
		errno = 0;
		assert_null(sl_ring_create(bad[i], 0));
		assert_int_equal(errno, EINVAL);
		assert_non_null(strstr(sl_last_error(), "power of two"));
	}
	errno = 0;
	assert_null(sl_ring_create(64, 1u << 7));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(sl_last_error(), "flags"));
}

/* Full and empty edges, for every mode: bulk is all or nothing, burst takes
 * what fits, order is first in first out. */
static void test_burst_bulk(void **state)
{
	void *in[16], *out[16];
	unsigned i, m;

	(void)state;
	for (i = 0; i < 16; i++)
		in[i] = item(100 + i);
	for (m = 0; m < 4; m++) {
		struct sl_ring *r = sl_ring_create(8, modes[m]);

		assert_non_null(r);
		/* empty */
		assert_int_equal(sl_ring_dequeue_burst(r, out, 4), 0);
		assert_int_equal(sl_ring_dequeue_bulk(r, out, 1), 0);
		/* more than fits */
		assert_int_equal(sl_ring_enqueue_bulk(r, in, 9), 0);
		assert_int_equal(sl_ring_count(r), 0);
		assert_int_equal(sl_ring_enqueue_burst(r, in, 10), 8);
		assert_int_equal(sl_ring_count(r), 8);
		assert_true(sl_ring_full(r));
		/* full */
		assert_int_equal(sl_ring_enqueue_burst(r, in + 8, 1), 0);
		assert_int_equal(sl_ring_enqueue_bulk(r, in + 8, 1), 0);
		/* asking for more than is there */
		memset(out, 0, sizeof(out));
		assert_int_equal(sl_ring_dequeue_bulk(r, out, 9), 0);
		assert_null(out[0]);
		assert_int_equal(sl_ring_count(r), 8);
		assert_int_equal(sl_ring_dequeue_burst(r, out, 3), 3);
		assert_int_equal(sl_ring_free_count(r), 3);
		assert_int_equal(sl_ring_dequeue_bulk(r, out + 3, 5), 5);
		for (i = 0; i < 8; i++)
			assert_ptr_equal(out[i], in[i]);
		assert_true(sl_ring_empty(r));
		assert_int_equal(sl_ring_dequeue_burst(r, out, 16), 0);
		/* n = 0 is a no-op that returns 0 */
		assert_int_equal(sl_ring_enqueue_burst(r, in, 0), 0);
		assert_int_equal(sl_ring_enqueue_bulk(r, in, 0), 0);
		assert_int_equal(sl_ring_count(r), 0);
		/* bulk of exactly the capacity */
		assert_int_equal(sl_ring_enqueue_bulk(r, in, 8), 8);
		assert_int_equal(sl_ring_dequeue_bulk(r, out, 8), 8);
		for (i = 0; i < 8; i++)
			assert_ptr_equal(out[i], in[i]);
		sl_ring_destroy(r);
	}
}

/* A size-1 ring is legal: one item at a time. */
static void test_size_one(void **state)
{
	struct sl_ring *r = sl_ring_create(1, 0);
	void *in[2] = { item(1), item(2) }, *out[2] = { NULL, NULL };

	(void)state;
	assert_non_null(r);
	assert_int_equal(sl_ring_enqueue_burst(r, in, 2), 1);
	assert_int_equal(sl_ring_enqueue_burst(r, in + 1, 1), 0);
	assert_int_equal(sl_ring_dequeue_burst(r, out, 2), 1);
	assert_ptr_equal(out[0], in[0]);
	assert_int_equal(sl_ring_enqueue_burst(r, in + 1, 1), 1);
	assert_int_equal(sl_ring_dequeue_bulk(r, out, 1), 1);
	assert_ptr_equal(out[0], in[1]);
	sl_ring_destroy(r);
}

/* Start both sides at position start (internal fields: the struct is in the
 * header for the inline fast path), as if the ring had already moved that
 * many items. */
static void ring_set_pos(struct sl_ring *r, uint32_t start)
{
	r->prod.head = r->prod.tail = r->prod.other = start;
	r->cons.head = r->cons.tail = r->cons.other = start;
}

/*
 * Against a model FIFO: bursts of every length cross the end of the slots
 * many times and the 32-bit positions roll over; order, counts and free
 * counts stay right throughout.
 */
static void run_model(unsigned mode, uint32_t start)
{
	struct sl_ring *r = sl_ring_create(16, mode);
	void *in[40], *out[40];
	uintptr_t next_in = 1, next_out = 1;
	unsigned count = 0, step, i, n, got;
	unsigned seed = 12345;

	assert_non_null(r);
	ring_set_pos(r, start);
	for (step = 0; step < 4000; step++) {
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % 20; /* 0..19: more than the ring holds too */
		if ((seed >> 8) & 1) {
			for (i = 0; i < n; i++)
				in[i] = item(next_in + i);
			if ((seed >> 9) & 1) {
				got = sl_ring_enqueue_bulk(r, in, n);
				assert_int_equal(got, count + n <= 16 ? n : 0);
			} else {
				got = sl_ring_enqueue_burst(r, in, n);
				assert_int_equal(got, SL_MIN_(n, 16 - count));
			}
			next_in += got;
			count += got;
		} else {
			if ((seed >> 9) & 1) {
				got = sl_ring_dequeue_bulk(r, out, n);
				assert_int_equal(got, n <= count ? n : 0);
			} else {
				got = sl_ring_dequeue_burst(r, out, n);
				assert_int_equal(got, SL_MIN_(n, count));
			}
			for (i = 0; i < got; i++)
				assert_ptr_equal(out[i], item(next_out + i));
			next_out += got;
			count -= got;
		}
		assert_int_equal(sl_ring_count(r), count);
		assert_int_equal(sl_ring_free_count(r), 16 - count);
	}
	/* the run must really have gone round many times */
	assert_true(next_out > 16 * 50);
	sl_ring_destroy(r);
}

static void test_wrap(void **state)
{
	unsigned m;

	(void)state;
	for (m = 0; m < 4; m++) {
		run_model(modes[m], 0);
		/* positions roll over 2^32 early in the run */
		run_model(modes[m], 0xffffff00u);
		run_model(modes[m], 0x7fffffc0u);
	}
}

/* ---- multi-threaded stress --------------------------------------------- */

#define MAX_SIDE 2
#define TAG_SHIFT 40

struct stress {
	struct sl_ring *r;
	unsigned n_prod, n_cons;
	uint64_t per_prod; /* items each producer means to send */
	uint64_t deadline; /* sl_time_ns(): producers stop early then */
	uint64_t produced[MAX_SIDE]; /* what each one did send */
	unsigned prod_done; /* atomic: producers finished */
	bool strict; /* one consumer: per producer, exactly in sequence */
	uint8_t *seen[MAX_SIDE]; /* per producer: times each seq came out */
	uint64_t consumed; /* atomic: items dequeued so far, all consumers */
	unsigned bad_tag, bad_order; /* atomic */
};

struct worker {
	struct stress *s;
	unsigned id;
	pthread_t th;
};

static void *producer(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;
	uint64_t seq = 0;
	unsigned seed = 77 + w->id;
	void *buf[32];

	/*
	 * The deadline bounds the run when the machine is busy: two threads
	 * sharing a core with CPU hogs move one ringful per time slice.
	 */
	for (unsigned loops = 0; seq < s->per_prod; loops++) {
		unsigned n, i, got;

		if ((loops & 255) == 0 && sl_time_ns() > s->deadline)
			break;
		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 32;
		if (n > s->per_prod - seq)
			n = (unsigned)(s->per_prod - seq);
		for (i = 0; i < n; i++)
			buf[i] = item(((uintptr_t)w->id << TAG_SHIFT) |
				      (seq + i));
		if ((seed >> 8) & 1) {
			got = sl_ring_enqueue_bulk(s->r, buf, n);
		} else {
			got = sl_ring_enqueue_burst(s->r, buf, n);
		}
		seq += got;
		/* full: let a consumer that shares our core run */
		if (got == 0)
			sched_yield();
	}
	s->produced[w->id] = seq;
	/* pairs with the consumers' acquire: produced[] is then final */
	__atomic_fetch_add(&s->prod_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *consumer(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;
	uint64_t last[MAX_SIDE];
	unsigned seed = 991 + w->id, p, i;
	void *buf[32];

	for (p = 0; p < MAX_SIDE; p++)
		last[p] = UINT64_MAX; /* nothing seen yet */
	for (;;) {
		unsigned n, got;

		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 32;
		if ((seed >> 8) & 1)
			got = sl_ring_dequeue_bulk(s->r, buf, n);
		else
			got = sl_ring_dequeue_burst(s->r, buf, n);
		if (got == 0) {
			/* done once every producer is and all they sent is out */
			if (__atomic_load_n(&s->prod_done, __ATOMIC_ACQUIRE) ==
			    s->n_prod) {
				uint64_t total = 0;

				for (p = 0; p < s->n_prod; p++)
					total += s->produced[p];
				if (__atomic_load_n(&s->consumed,
						    __ATOMIC_RELAXED) >= total)
					break;
			}
			sched_yield();
			continue;
		}
		for (i = 0; i < got; i++) {
			uintptr_t v = (uintptr_t)buf[i];
			uint64_t seq = v & ((1ull << TAG_SHIFT) - 1);

			p = (unsigned)(v >> TAG_SHIFT);
			/* produced[] is not final yet: check against the plan */
			if (p >= s->n_prod || seq >= s->per_prod) {
				__atomic_fetch_add(&s->bad_tag, 1,
						   __ATOMIC_RELAXED);
				continue;
			}
			__atomic_fetch_add(&s->seen[p][seq], 1,
					   __ATOMIC_RELAXED);
			/*
			 * One consumer sees each producer's items in order,
			 * with none missing when it is the only consumer.
			 */
			if (last[p] != UINT64_MAX &&
			    (s->strict ? seq != last[p] + 1 : seq <= last[p]))
				__atomic_fetch_add(&s->bad_order, 1,
						   __ATOMIC_RELAXED);
			if (s->strict && last[p] == UINT64_MAX && seq != 0)
				__atomic_fetch_add(&s->bad_order, 1,
						   __ATOMIC_RELAXED);
			last[p] = seq;
		}
		__atomic_fetch_add(&s->consumed, got, __ATOMIC_RELAXED);
	}
	return NULL;
}

static uint64_t stress_items(void)
{
	const char *e = getenv("SL_RING_STRESS_ITEMS");

	if (e && *e)
		return strtoull(e, NULL, 0);
	return SANITIZED ? 400000 : 3000000;
}

/* Wall-clock budget of one stress run, in seconds. */
static uint64_t stress_budget_ns(void)
{
	const char *e = getenv("SL_RING_STRESS_SECONDS");
	double sec = e && *e ? strtod(e, NULL) : 2.0;

	return (uint64_t)(sec * 1e9);
}

static void run_stress(unsigned flags, unsigned n_prod, unsigned n_cons,
		       unsigned size)
{
	struct stress s = { 0 };
	struct worker prod[MAX_SIDE], cons[MAX_SIDE];
	uint64_t i, missing = 0, dup = 0, total = 0;
	unsigned p;

	s.r = sl_ring_create(size, flags);
	assert_non_null(s.r);
	s.n_prod = n_prod;
	s.n_cons = n_cons;
	s.per_prod = stress_items() / n_prod;
	s.strict = n_cons == 1;
	s.deadline = sl_time_ns() + stress_budget_ns();
	for (p = 0; p < n_prod; p++) {
		s.seen[p] = calloc(s.per_prod, 1);
		assert_non_null(s.seen[p]);
	}
	for (p = 0; p < n_cons; p++) {
		cons[p] = (struct worker){ .s = &s, .id = p };
		assert_int_equal(pthread_create(&cons[p].th, NULL, consumer,
						&cons[p]),
				 0);
	}
	for (p = 0; p < n_prod; p++) {
		prod[p] = (struct worker){ .s = &s, .id = p };
		assert_int_equal(pthread_create(&prod[p].th, NULL, producer,
						&prod[p]),
				 0);
	}
	for (p = 0; p < n_prod; p++)
		pthread_join(prod[p].th, NULL);
	for (p = 0; p < n_cons; p++)
		pthread_join(cons[p].th, NULL);

	/* each item sent came out once; none that was not sent came out */
	for (p = 0; p < n_prod; p++) {
		for (i = 0; i < s.per_prod; i++) {
			if (i < s.produced[p])
				missing += s.seen[p][i] == 0;
			else
				missing += s.seen[p][i] != 0; /* phantom */
			dup += s.seen[p][i] > 1;
		}
		total += s.produced[p];
		free(s.seen[p]);
	}
	/* however busy the machine, a real stream went through */
	assert_true(total >= 10000);
	assert_int_equal(s.bad_tag, 0);
	assert_int_equal(missing, 0);
	assert_int_equal(dup, 0);
	assert_int_equal(s.bad_order, 0);
	assert_int_equal(s.consumed, total);
	assert_int_equal(sl_ring_count(s.r), 0);
	sl_ring_destroy(s.r);
}

static void test_stress_spsc(void **state)
{
	(void)state;
	run_stress(SL_RING_SP_ENQ | SL_RING_SC_DEQ, 1, 1, 256);
}

static void test_stress_mpmc(void **state)
{
	(void)state;
	run_stress(0, 2, 2, 256);
}

static void test_stress_mpsc(void **state)
{
	(void)state;
	run_stress(SL_RING_SC_DEQ, 2, 1, 64);
}

static void test_stress_spmc(void **state)
{
	(void)state;
	run_stress(SL_RING_SP_ENQ, 1, 2, 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_create_bad),
		cmocka_unit_test(test_burst_bulk),
		cmocka_unit_test(test_size_one),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_stress_spsc),
		cmocka_unit_test(test_stress_mpmc),
		cmocka_unit_test(test_stress_mpsc),
		cmocka_unit_test(test_stress_spmc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
