/* log.h — the programs' logger: one line per message on stderr, with time and level.
 * Only programs (listener/, filter/) log; common/ returns errors for them to report. */
#ifndef LINEAGE_LOG_H
#define LINEAGE_LOG_H

#include "macro.h"

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Set the program name printed on each line and the most verbose level printed. */
void log_init(const char *prog, enum log_level max);
void log_msg(enum log_level level, const char *fmt, ...) PRINTF_FMT(2, 3);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
