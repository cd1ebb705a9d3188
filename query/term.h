/* term.h — where lineage-query's output goes decides how it looks: on a terminal lines are
 * cut to the terminal's width and may be coloured; piped or redirected they are never cut
 * and never coloured unless asked (--width N, --color always). No state: callers keep the
 * answers (main.c puts them into struct qctx). */
#ifndef LINEAGE_QUERY_TERM_H
#define LINEAGE_QUERY_TERM_H

#include <stdbool.h>
#include <stdio.h>

#include "args.h"

/* The width to cut text lines to: requested when >= 0 (0 = never cut); for QWIDTH_AUTO the
 * terminal's columns when f is a terminal (TIOCGWINSZ, else $COLUMNS, else 80), 0 when not. */
int term_width(FILE *f, int requested);

/* Whether to colour output on f: always / never as asked; auto = f is a terminal, $NO_COLOR
 * is unset or empty (https://no-color.org) and $TERM is not "dumb". */
bool term_color(FILE *f, enum qcolor want);

enum term_style { TS_RESET, TS_BOLD, TS_DIM, TS_RED, TS_YELLOW, TS_GREEN, TS_CYAN, TS_MAGENTA };

/* The SGR escape sequence of style when on, "" when not: a static string. */
const char *term_sgr(bool on, enum term_style style);

#endif
