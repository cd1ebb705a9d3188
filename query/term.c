/* term.c — terminal width and colour decisions for lineage-query (see term.h). Owns
 * nothing. */
#include "term.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int term_width(FILE *f, int requested)
{
	struct winsize ws;
	const char *cols;
	char *end;
	long v;

	if (requested >= 0)
		return requested;
	if (!isatty(fileno(f)))
		return 0; /* a pipe or a file: the whole line, always */
	if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	cols = getenv("COLUMNS");
	if (cols) {
		v = strtol(cols, &end, 10);
		if (end != cols && !*end && v > 0 && v < 100000)
			return (int)v;
	}
	return 80;
}

bool term_color(FILE *f, enum qcolor want)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	if (want != QCOLOR_AUTO)
		return want == QCOLOR_ALWAYS;
	if (nc && *nc)
		return false;
	if (term && !strcmp(term, "dumb"))
		return false;
	return isatty(fileno(f));
}

const char *term_sgr(bool on, enum term_style style)
{
	static const char *const sgr[] = {
		[TS_RESET] = "\033[0m",	  [TS_BOLD] = "\033[1m",   [TS_DIM] = "\033[2m",
		[TS_RED] = "\033[1;31m",  [TS_YELLOW] = "\033[33m", [TS_GREEN] = "\033[32m",
		[TS_CYAN] = "\033[36m",	  [TS_MAGENTA] = "\033[35m",
	};

	return on ? sgr[style] : "";
}
