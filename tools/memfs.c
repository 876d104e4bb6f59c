#include "config.h"
extern int shale_placeholder_memfs;
