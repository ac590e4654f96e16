
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-token: errors, memory, argument checks, durations and times,
 * randomness, digest key files.
 */


#define _GNU_SOURCE

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>

#include "vt.h"


#define VT_DIGEST_KEY_MAX  4096        /* as validibot_digest_key */
#define VT_MAX_SECONDS     ((int64_t) 100 * 366 * 86400)


typedef struct vt_block_s  vt_block_t;

struct vt_block_s {
    vt_block_t  *next;
    size_t       size;
    /* the user's bytes follow, suitably aligned */
    long double  align[];
};


static vt_block_t  *vt_blocks;
static int          vt_atexit_set;

extern const char  *vt_current_command;


static void
vt_free_all(void)
{
    vt_block_t  *b, *next;

    for (b = vt_blocks; b; b = next) {
        next = b->next;

        /* a key or digest may be in there */
        vt_wipe(b->align, b->size);
        free(b);
    }

    vt_blocks = NULL;
}


void *
vt_alloc(size_t size)
{
    vt_block_t  *b;

    if (!vt_atexit_set) {
        atexit(vt_free_all);
        vt_atexit_set = 1;
    }

    b = calloc(1, sizeof(vt_block_t) + size + 1);
    if (b == NULL) {
        vt_fail(VT_EXIT_REDIS, "out of memory");
    }

    b->size = size;
    b->next = vt_blocks;
    vt_blocks = b;

    return b->align;
}


char *
vt_strndup(const char *s, size_t len)
{
    char  *p;

    p = vt_alloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';

    return p;
}


char *
vt_strdup(const char *s)
{
    return vt_strndup(s, strlen(s));
}


char *
vt_sprintf(const char *fmt, ...)
{
    int       n;
    char     *p;
    va_list   ap;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);

    if (n < 0) {
        vt_fail(VT_EXIT_REDIS, "out of memory");
    }

    p = vt_alloc(n + 1);

    va_start(ap, fmt);
    vsnprintf(p, n + 1, fmt, ap);
    va_end(ap);

    return p;
}


const char *
vt_cmd_name(void)
{
    return vt_current_command;
}


void
vt_fail(int code, const char *fmt, ...)
{
    va_list  ap;

    fflush(stdout);

    if (vt_current_command) {
        fprintf(stderr, "validibot-token: %s: ", vt_current_command);

    } else {
        fprintf(stderr, "validibot-token: ");
    }

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);

    fputc('\n', stderr);

    exit(code);
}


void
vt_warn(const char *fmt, ...)
{
    va_list  ap;

    fprintf(stderr, "validibot-token: warning: ");

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);

    fputc('\n', stderr);
}


/*
 * User ids go into key names ("member:<org>:<user>") and into the
 * X-Validibot-User header: no ":" (ambiguous names), no space or control.
 */

int
vt_valid_user(const char *s)
{
    size_t  i, len;

    len = strlen(s);

    if (len == 0 || len > VT_MAX_USER) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')
              || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' || s[i] == '-'
              || s[i] == '.' || s[i] == '@' || s[i] == '+'))
        {
            return 0;
        }
    }

    return 1;
}


/* Django's SlugField: letters, digits, "_" and "-" */

int
vt_valid_slug(const char *s)
{
    size_t  i, len;

    len = strlen(s);

    if (len == 0 || len > VT_MAX_SLUG) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')
              || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' || s[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/* free text: bounded (the module refuses over-long fields), no controls */

int
vt_valid_text(const char *s, size_t max)
{
    size_t  i, len;

    len = strlen(s);

    if (len > max) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}


int
vt_valid_hex(const char *s, size_t len)
{
    size_t  i;

    if (strlen(s) != len) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }

    return 1;
}


/*
 * "90d", "24h", "30m", "45s", or several of them run together ("1d12h").
 * Returns 0 and the seconds, or -1.  "never" is the caller's.
 */

int
vt_duration(const char *s, int64_t *seconds)
{
    int64_t  total, n, unit;

    if (*s == '\0') {
        return -1;
    }

    total = 0;

    while (*s) {
        if (*s < '0' || *s > '9') {
            return -1;
        }

        n = 0;

        while (*s >= '0' && *s <= '9') {
            n = n * 10 + (*s++ - '0');

            if (n > VT_MAX_SECONDS) {
                return -1;
            }
        }

        switch (*s++) {
        case 'w':
            unit = 7 * 86400;
            break;
        case 'd':
            unit = 86400;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'm':
            unit = 60;
            break;
        case 's':
            unit = 1;
            break;
        default:
            return -1;
        }

        total += n * unit;

        if (total > VT_MAX_SECONDS) {
            return -1;
        }
    }

    *seconds = total;

    return 0;
}


/* Howard Hinnant's days_from_civil: no TZ, no libc time zone state */

static int64_t
vt_days_from_civil(int64_t y, int m, int d)
{
    int64_t   era;
    unsigned  yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + (int64_t) doe - 719468;
}


static int
vt_digits(const char **pp, const char *end, int n, int *value)
{
    int          v;
    const char  *p;

    p = *pp;

    if (end - p < n) {
        return -1;
    }

    for (v = 0; n; n--, p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }

        v = v * 10 + (*p - '0');
    }

    *pp = p;
    *value = v;

    return 0;
}


/*
 * A time as exports write it: unix seconds ("1764000000", "1764000000.5")
 * or ISO 8601 ("2025-11-24T16:00:00Z", "2025-11-24 16:00:00.123+00:00",
 * "2025-11-24").  No zone means UTC, as Django stores it.
 */

int
vt_parse_time(const char *p, size_t len, int64_t *t)
{
    int          y, mo, d, h, mi, s, oh, om, sign, mdays;
    int64_t      v;
    const char  *end;
    static const int  days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                 30, 31 };

    end = p + len;

    if (len && len <= 25) {
        const char  *q;

        for (q = p, v = 0; q < end && *q >= '0' && *q <= '9'; q++) {
            v = v * 10 + (*q - '0');

            if (v > 253402300799LL) {         /* 9999-12-31T23:59:59Z */
                return -1;
            }
        }

        if (q > p && (q == end || *q == '.')) {
            if (q < end) {
                for (q++; q < end; q++) {
                    if (*q < '0' || *q > '9') {
                        return -1;
                    }
                }
            }

            *t = v;
            return 0;
        }
    }

    h = mi = s = 0;

    if (vt_digits(&p, end, 4, &y) != 0
        || p == end || *p++ != '-'
        || vt_digits(&p, end, 2, &mo) != 0
        || p == end || *p++ != '-'
        || vt_digits(&p, end, 2, &d) != 0)
    {
        return -1;
    }

    if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
        p++;

        if (vt_digits(&p, end, 2, &h) != 0
            || p == end || *p++ != ':'
            || vt_digits(&p, end, 2, &mi) != 0)
        {
            return -1;
        }

        if (p < end && *p == ':') {
            p++;

            if (vt_digits(&p, end, 2, &s) != 0) {
                return -1;
            }

            if (p < end && (*p == '.' || *p == ',')) {
                p++;

                if (p == end || *p < '0' || *p > '9') {
                    return -1;
                }

                while (p < end && *p >= '0' && *p <= '9') {
                    p++;
                }
            }
        }
    }

    oh = om = 0;
    sign = 1;

    if (p < end && (*p == 'Z' || *p == 'z')) {
        p++;

    } else if (p < end && (*p == '+' || *p == '-')) {
        sign = (*p++ == '-') ? -1 : 1;

        if (vt_digits(&p, end, 2, &oh) != 0) {
            return -1;
        }

        if (p < end && *p == ':') {
            p++;
        }

        if (p < end && vt_digits(&p, end, 2, &om) != 0) {
            return -1;
        }

        if (oh > 23 || om > 59) {
            return -1;
        }
    }

    if (p != end) {
        return -1;
    }

    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) {
        return -1;
    }

    mdays = days[mo - 1];

    if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
        mdays = 29;
    }

    if (d > mdays) {
        return -1;
    }

    v = vt_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
        - sign * (oh * 3600 + om * 60);

    if (v < 0) {
        return -1;
    }

    *t = v;

    return 0;
}


char *
vt_iso(int64_t t)
{
    time_t     tt;
    struct tm  tm;
    char       buf[64];

    tt = (time_t) t;

    if (gmtime_r(&tt, &tm) == NULL
        || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    {
        return vt_sprintf("%lld", (long long) t);
    }

    return vt_strdup(buf);
}


/* the module's rule (ngx_http_validibot_span_int) for a stored integer */

int
vt_int_field(const char *s, int64_t *v)
{
    size_t   i, len;
    int64_t  n;

    *v = 0;

    if (s == NULL || *s == '\0') {
        return 0;
    }

    len = strlen(s);

    if (len > 18) {
        return -1;
    }

    for (i = 0, n = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        n = n * 10 + (s[i] - '0');
    }

    *v = n;

    return 0;
}


/* for human output: a stored label must not drive the terminal */

char *
vt_sanitize(const char *s)
{
    char    *p, *q;

    p = vt_strdup(s);

    for (q = p; *q; q++) {
        if ((unsigned char) *q < 0x20 || *q == 0x7f) {
            *q = '?';
        }
    }

    return p;
}


char *
vt_glob_escape(const char *s)
{
    char  *p, *q;

    p = vt_alloc(strlen(s) * 2 + 1);

    for (q = p; *s; s++) {
        if (*s == '*' || *s == '?' || *s == '[' || *s == ']' || *s == '\\') {
            *q++ = '\\';
        }

        *q++ = *s;
    }

    *q = '\0';

    return p;
}


/* nbytes from the kernel's CSPRNG as 2 * nbytes lowercase hex + NUL */

void
vt_random_hex(char *out, size_t nbytes)
{
    size_t          got, i;
    ssize_t         n;
    unsigned char   buf[64];
    static const char  hex[] = "0123456789abcdef";

    if (nbytes > sizeof(buf)) {
        vt_fail(VT_EXIT_REDIS, "internal error: random request too large");
    }

    for (got = 0; got < nbytes; /* void */) {
        n = getrandom(buf + got, nbytes - got, 0);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }

            vt_fail(VT_EXIT_REDIS, "getrandom() failed: %s", strerror(errno));
        }

        got += n;
    }

    for (i = 0; i < nbytes; i++) {
        out[2 * i] = hex[buf[i] >> 4];
        out[2 * i + 1] = hex[buf[i] & 0x0f];
    }

    out[2 * nbytes] = '\0';

    vt_wipe(buf, sizeof(buf));
}


/*
 * A file of at most max bytes holding a secret (a digest key, a password,
 * an assertion key), whole; "what" names it in the errors.  The caller
 * wipes the buffer.
 */

unsigned char *
vt_read_secret(const char *path, size_t max, size_t *len, const char *what)
{
    FILE           *f;
    size_t          n;
    unsigned char  *buf;

    f = fopen(path, "rb");
    if (f == NULL) {
        vt_fail(VT_EXIT_USAGE, "cannot read %s \"%s\": %s", what,
                vt_sanitize(path), strerror(errno));
    }

    buf = vt_alloc(max + 1);

    n = fread(buf, 1, max + 1, f);

    if (ferror(f)) {
        vt_fail(VT_EXIT_USAGE, "cannot read %s \"%s\": %s", what,
                vt_sanitize(path), strerror(errno));
    }

    fclose(f);

    if (n > max) {
        vt_wipe(buf, n);
        vt_fail(VT_EXIT_USAGE, "%s \"%s\" is larger than %zu bytes", what,
                vt_sanitize(path), max);
    }

    *len = n;

    return buf;
}


/*
 * The first line of stdin, at most max bytes, without its "\n" (or
 * "\r\n"): a key or a token piped in or typed.  Reads no further than
 * that line's end when it comes in one read.
 */

char *
vt_read_line(size_t max)
{
    char     *buf, *nl;
    size_t    len;
    ssize_t   n;

    buf = vt_alloc(max + 1);
    len = 0;

    while (len < max) {
        n = read(STDIN_FILENO, buf + len, max - len);

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n <= 0) {
            break;
        }

        len += n;

        if (memchr(buf, '\n', len)) {
            break;
        }
    }

    buf[len] = '\0';

    nl = memchr(buf, '\n', len);

    if (nl) {
        *nl = '\0';

        if (nl > buf && nl[-1] == '\r') {
            nl[-1] = '\0';
        }
    }

    return buf;
}


void
vt_wipe(void *p, size_t len)
{
    explicit_bzero(p, len);
}


const char *
vt_opt(vt_ctx_t *ctx, const char *name)
{
    size_t       i;
    const char  *v;

    v = NULL;

    for (i = 0; i < ctx->nopts; i++) {
        if (strcmp(ctx->opts[i].name, name) == 0) {
            v = ctx->opts[i].value;
        }
    }

    return v;
}


int
vt_flag(vt_ctx_t *ctx, const char *name)
{
    size_t  i;

    for (i = 0; i < ctx->nopts; i++) {
        if (strcmp(ctx->opts[i].name, name) == 0) {
            return 1;
        }
    }

    return 0;
}


size_t
vt_opt_all(vt_ctx_t *ctx, const char *name, const char **out, size_t max)
{
    size_t  i, n;

    for (i = 0, n = 0; i < ctx->nopts && n < max; i++) {
        if (strcmp(ctx->opts[i].name, name) == 0) {
            out[n++] = ctx->opts[i].value;
        }
    }

    return n;
}


static void
vt_digest_key_load(ngx_http_validibot_hmac_t *h, const vt_dkey_t *dk)
{
    size_t          n, len;
    unsigned char  *buf;

    buf = vt_read_secret(dk->file, VT_DIGEST_KEY_MAX, &n, "digest key file");

    len = ngx_http_validibot_digest_key_trim(buf, n);

    if (len == 0) {
        vt_fail(VT_EXIT_USAGE, "digest key file \"%s\" is empty", dk->file);
    }

    if (ngx_http_validibot_hmac_init(h, dk->version, buf, len) != 0) {
        vt_fail(VT_EXIT_REDIS, "cannot set up HMAC-SHA256 for digest key "
                "version %u", dk->version);
    }

    vt_wipe(buf, n);
}


/*
 * The configured digest keys: every --digest-key, and
 * VALIDIBOT_DIGEST_KEY_FILE as version 1 unless a --digest-key names 1.
 * need_version 0: all of them (at least one); else just that one.
 */

const ngx_http_validibot_hmac_t *
vt_digest_keys(vt_ctx_t *ctx, size_t *n, unsigned need_version)
{
    size_t                      i, nkeys;
    const char                 *env;
    vt_dkey_t                   keys[VT_MAX_DIGEST_KEYS + 1];
    ngx_http_validibot_hmac_t  *hmacs;

    nkeys = 0;

    for (i = 0; i < ctx->ndkeys; i++) {
        keys[nkeys++] = ctx->dkeys[i];
    }

    env = getenv("VALIDIBOT_DIGEST_KEY_FILE");

    if (env && *env) {
        for (i = 0; i < nkeys; i++) {
            if (keys[i].version == 1) {
                break;
            }
        }

        if (i == nkeys) {
            keys[nkeys].version = 1;
            keys[nkeys].file = env;
            nkeys++;
        }
    }

    if (need_version) {
        for (i = 0; i < nkeys; i++) {
            if (keys[i].version == need_version) {
                break;
            }
        }

        if (i == nkeys) {
            vt_fail(VT_EXIT_USAGE, "no digest key for version %u: give "
                    "--digest-key %u=FILE%s", need_version, need_version,
                    need_version == 1 ? " or set VALIDIBOT_DIGEST_KEY_FILE"
                                      : "");
        }

        keys[0] = keys[i];
        nkeys = 1;
    }

    if (nkeys == 0) {
        vt_fail(VT_EXIT_USAGE, "no digest key: give --digest-key "
                "VERSION=FILE or set VALIDIBOT_DIGEST_KEY_FILE");
    }

    hmacs = vt_alloc(nkeys * sizeof(ngx_http_validibot_hmac_t));

    for (i = 0; i < nkeys; i++) {
        vt_digest_key_load(&hmacs[i], &keys[i]);
    }

    *n = nkeys;

    return hmacs;
}
