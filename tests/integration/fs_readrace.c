/*
 * fs_readrace.c - readers of a stream's end while it is appended to: no
 * read may return a byte that was not written.
 *
 *   fs_readrace FILE SECONDS READERS [split] [readers-first]
 *
 * One thread appends lines ("line N of the race\n") to FILE opened with
 * O_APPEND, each in one write(2), or with "split" in two (the first
 * ending inside the line). READERS threads, each with a descriptor of its
 * own opened read-only, read the last 1 to 8 KiB of FILE over and over
 * (fstat for the size, then pread), and one reads it all from the start
 * as it grows. Every byte read must be a byte of the text written: never
 * NUL. The readers open FILE after the writer, or with "readers-first"
 * before it. Prints what it did; exits 1 if a read held a NUL byte, 2 on
 * an error, 3 if opening FILE to write failed with EBUSY.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *path;
static int fds[64];
static volatile int stop;
static long nul_reads, reads, lines, errors;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
count(long *what, long n)
{
	pthread_mutex_lock(&lock);
	*what += n;
	pthread_mutex_unlock(&lock);
}

static void
check(const char *buf, ssize_t n, off_t at)
{
	const char *z = memchr(buf, '\0', (size_t)n);

	count(&reads, 1);
	if (z != NULL) {
		count(&nul_reads, 1);
		pthread_mutex_lock(&lock);
		if (nul_reads <= 3)
			fprintf(stderr, "NUL at offset %lld of a read of %zd "
			    "bytes at %lld\n", (long long)(at + (z - buf)), n,
			    (long long)at);
		pthread_mutex_unlock(&lock);
	}
}

static void *
tail_reader(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	char buf[8192];
	struct stat st;
	ssize_t n;
	off_t at;
	int fd = fds[seed];

	while (!stop) {
		if (fstat(fd, &st) != 0) {
			count(&errors, 1);
			break;
		}
		at = st.st_size - 1 - (off_t)(rand_r(&seed) % sizeof(buf));
		if (at < 0)
			at = 0;
		if ((n = pread(fd, buf, sizeof(buf), at)) < 0) {
			count(&errors, 1);
			break;
		}
		check(buf, n, at);
	}
	close(fd);
	return NULL;
}

static void *
cat_reader(void *arg)
{
	char buf[65536];
	off_t at = 0;
	ssize_t n;
	int fd = fds[0];

	(void)arg;
	while (!stop) {
		if ((n = pread(fd, buf, sizeof(buf), at)) < 0) {
			count(&errors, 1);
			break;
		}
		if (n > 0)
			check(buf, n, at);
		at += n;
	}
	close(fd);
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t t[64];
	char line[128];
	double end;
	int nreaders, split = 0, first = 0, fd, len, cut;
	long i = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: fs_readrace FILE SECONDS READERS [split]\n");
		return 2;
	}
	path = argv[1];
	end = now() + atof(argv[2]);
	nreaders = atoi(argv[3]);
	for (int k = 4; k < argc; k++) {
		split |= strcmp(argv[k], "split") == 0;
		first |= strcmp(argv[k], "readers-first") == 0;
	}
	if (nreaders < 1 || nreaders > 62)
		nreaders = 4;
	for (int k = 0; first && k <= nreaders; k++)
		if ((fds[k] = open(path, O_RDONLY)) < 0) {
			fprintf(stderr, "cannot open '%s': %s\n", path,
			    strerror(errno));
			return 2;
		}
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644)) < 0) {
		fprintf(stderr, "cannot open '%s' to write: %s\n", path,
		    strerror(errno));
		return errno == EBUSY ? 3 : 2;
	}
	for (int k = 0; !first && k <= nreaders; k++)
		if ((fds[k] = open(path, O_RDONLY)) < 0) {
			fprintf(stderr, "cannot open '%s': %s\n", path,
			    strerror(errno));
			return 2;
		}
	for (int k = 1; k <= nreaders; k++)
		pthread_create(&t[k], NULL, tail_reader, (void *)(uintptr_t)(k + 1));
	pthread_create(&t[nreaders + 1], NULL, cat_reader, NULL);
	while (now() < end) {
		len = snprintf(line, sizeof(line), "line %ld of the race\n", ++i);
		cut = split ? 5 + (int)(i % 10) : len;
		if (write(fd, line, (size_t)cut) != cut ||
		    (cut < len && write(fd, line + cut, (size_t)(len - cut)) !=
		    len - cut)) {
			fprintf(stderr, "write: %s\n", strerror(errno));
			count(&errors, 1);
			break;
		}
	}
	lines = i;
	stop = 1;
	for (int k = 1; k <= nreaders + 1; k++)
		pthread_join(t[k], NULL);
	for (int k = 0; k <= nreaders; k++)
		close(fds[k]);
	close(fd);
	printf("%ld lines appended%s, %ld reads, %ld with a NUL byte, %ld errors\n",
	    lines, split ? " (each in two writes)" : "", reads, nul_reads,
	    errors);
	return errors > 0 ? 2 : nul_reads > 0 ? 1 : 0;
}
