/*
 * path.h - local directories.
 *
 * Any thread; errors carry a detail in the calling thread's error state.
 */
#ifndef SHALE_PATH_H
#define SHALE_PATH_H

#include <sys/types.h>

/*
 * mkdir -p: make `dir` and the directories above it that are missing,
 * new ones with `mode` (less the umask). 0 once `dir` is a directory;
 * otherwise a negative errno whose detail names the one that failed
 * (-ENOTDIR when something in the way is not a directory).
 */
int	path_mkdirs(const char *dir, mode_t mode);

#endif
