#include "config.h"
extern int shale_placeholder_bench_fs;
