/* clock.h - monotonic and wall clocks in nanoseconds, and sleeping. */
#ifndef SHALE_CLOCK_H
#define SHALE_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

static inline int64_t
clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t
clock_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void
clock_sleep_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/*
 * Wait on c, a condition variable made to run on CLOCK_MONOTONIC, until
 * due (a clock_mono_ns() time; 0: for as long as it takes). Returns what
 * pthread_cond_wait or pthread_cond_timedwait does.
 */
static inline int
clock_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, int64_t due)
{
	struct timespec ts;

	if (due == 0)
		return pthread_cond_wait(c, m);
	ts.tv_sec = due / 1000000000;
	ts.tv_nsec = due % 1000000000;
	return pthread_cond_timedwait(c, m, &ts);
}

#endif
