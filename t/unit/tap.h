
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * A few lines of TAP for the unit tests: ok(cond, fmt, ...) prints
 * "ok N - ..." or "not ok N - ..." (with the file and line on stderr),
 * tap_done() prints the plan and gives the exit code.
 */


#ifndef _TAP_H_INCLUDED_
#define _TAP_H_INCLUDED_


#include <stdarg.h>
#include <stdio.h>
#include <string.h>


static int  tap_n;
static int  tap_failed;


#define ok(cond, ...)  tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define S(lit)  (const unsigned char *) (lit), sizeof(lit) - 1


static int __attribute__((format(printf, 4, 5)))
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list  args;

    tap_n++;

    printf("%sok %d - ", pass ? "" : "not ", tap_n);

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");

    if (!pass) {
        tap_failed++;
        fflush(stdout);
        fprintf(stderr, "#   failed at %s line %d\n", file, line);
    }

    fflush(stdout);

    return pass;
}


static int
tap_done(void)
{
    printf("1..%d\n", tap_n);

    return tap_failed ? 1 : 0;
}


#endif /* _TAP_H_INCLUDED_ */
