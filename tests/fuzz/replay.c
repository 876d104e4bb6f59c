/*
 * replay.c - run a fuzz harness over saved inputs, without libFuzzer.
 *
 * usage: replay PATH...
 *
 * Each PATH is a file, or a directory whose files (and subdirectories, in
 * name order, dot files skipped) are read. Every file's bytes go to
 * LLVMFuzzerTestOneInput() in a buffer of exactly their size, so a
 * sanitizer build catches a read past the end. Prints "replayed N inputs"
 * and exits 0, or 1 if a path cannot be read. 'make check' links each
 * harness with this file so the seed corpora are run in every build.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int	replay_path(const char *path, size_t *count);

static int
replay_file(const char *path, size_t *count)
{
	struct stat st;
	uint8_t *data = NULL;
	size_t len = 0;
	ssize_t r;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY)) == -1)
		goto fail;
	if (fstat(fd, &st) == -1)
		goto fail;
	data = xmalloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	while (len < (size_t)st.st_size) {
		r = read(fd, data + len, (size_t)st.st_size - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			goto fail;
		len += (size_t)r;
	}
	LLVMFuzzerTestOneInput(data, len);
	(*count)++;
	rc = 0;

fail:
	if (rc != 0)
		fprintf(stderr, "replay: cannot read '%s': %s\n", path,
		    errno ? strerror(errno) : "short read");
	free(data);
	if (fd != -1)
		close(fd);
	return rc;
}

static int
replay_dir(const char *path, size_t *count)
{
	struct dirent **names = NULL;
	char *sub;
	int i, n, rc = 0;

	if ((n = scandir(path, &names, NULL, alphasort)) == -1) {
		fprintf(stderr, "replay: cannot read '%s': %s\n", path,
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' && rc == 0) {
			sub = xasprintf("%s/%s", path, names[i]->d_name);
			rc = replay_path(sub, count);
			free(sub);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static int
replay_path(const char *path, size_t *count)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "replay: cannot read '%s': %s\n", path,
		    strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return replay_dir(path, count);
	return replay_file(path, count);
}

int
main(int argc, char **argv)
{
	size_t count = 0;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: replay PATH...\n");
		return 1;
	}
	for (i = 1; i < argc; i++) {
		if (replay_path(argv[i], &count) != 0)
			return 1;
	}
	printf("replayed %zu inputs\n", count);
	return 0;
}
