// Everything is `static inline` in include/CJSONScan.h; a C target needs one source file.
#include "CJSONScan.h"
