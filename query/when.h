/* when.h — the times people type for --since/--until, turned into milliseconds since the
 * epoch. Pure: no store, no output; the clock is a parameter so that tests can fix it.
 *
 * Forms (local time unless utc is true or the text says Z / an offset):
 *   -N[ms|s|m|h|d]                 N before now ("-10m")
 *   now, today, yesterday          now; 00:00 of today; 00:00 of yesterday
 *   HH:MM[:SS[.mmm]]               that time today
 *   YYYY-MM-DD                     00:00 of that day
 *   YYYY-MM-DD[T| ]HH:MM[:SS[.f]][Z|±HH[:MM]|±HHMM]   (ISO 8601; fraction to the ms)
 *   @SECONDS[.mmm]                 seconds since the epoch
 *   +N[ms|s|m|h]                   N after the container's start (*ret_rel = true: the caller
 *                                  adds the start it knows) */
#ifndef LINEAGE_QUERY_WHEN_H
#define LINEAGE_QUERY_WHEN_H

#include <stdbool.h>
#include <stdint.h>

/* Parse s against the clock now_ms. Returns 0 and sets *ret_ms (epoch ms, or the offset in ms
 * when *ret_rel) and *ret_rel; -EINVAL when s is none of the forms above. */
int when_parse(const char *s, bool utc, int64_t now_ms, int64_t *ret_ms, bool *ret_rel);

/* The current time in ms since the epoch (CLOCK_REALTIME). */
int64_t when_now_ms(void);

/* One line naming every form, for error messages and --help. */
#define WHEN_FORMS                                                                          \
	"-10m, today, yesterday, HH:MM[:SS], YYYY-MM-DD[ HH:MM[:SS[.mmm]]][Z], ISO 8601, "   \
	"@EPOCH or +OFFSET after the container's start"

#endif
