
/*
 * Copyright (C) The ngx_http_validibot_module authors
 *
 * validibot-token: rediss://.  hiredis 0.14 has no TLS, so the tool
 * speaks TLS itself with OpenSSL and hands hiredis one end of a socket
 * pair; a thread copies bytes between the pair and the TLS connection.
 * The certificate and the name are checked as validibot_redis_ssl_*
 * checks them, configured by the same names in the environment.
 */


#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "vt.h"


#define VT_TLS_BUF  16384


typedef struct {
    SSL   *ssl;
    int    tcp;
    int    local;
} vt_tls_pump_t;


static const char *
vt_tls_error(void)
{
    unsigned long  e;

    e = ERR_peek_last_error();

    return e ? ERR_reason_error_string(e) : "connection closed";
}


static int
vt_tls_tcp(const char *host, unsigned port, const char *where, int timeout)
{
    int               fd, rc, err;
    char              service[8];
    socklen_t         len;
    struct pollfd     pfd;
    struct addrinfo   hints, *res, *ai;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;

    snprintf(service, sizeof(service), "%u", port);

    rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        vt_fail(VT_EXIT_REDIS, "cannot connect to Redis at %s: %s", where,
                gai_strerror(rc));
    }

    err = 0;
    fd = -1;

    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK,
                    ai->ai_protocol);
        if (fd == -1) {
            err = errno;
            continue;
        }

        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }

        if (errno == EINPROGRESS) {
            pfd.fd = fd;
            pfd.events = POLLOUT;

            if (poll(&pfd, 1, timeout * 1000) == 1) {
                len = sizeof(err);
                err = 0;

                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0
                    && err == 0)
                {
                    break;
                }

            } else {
                err = ETIMEDOUT;
            }

        } else {
            err = errno;
        }

        close(fd);
        fd = -1;
    }

    freeaddrinfo(res);

    if (fd == -1) {
        vt_fail(VT_EXIT_REDIS, "cannot connect to Redis at %s: %s", where,
                strerror(err));
    }

    /* blocking from now on, with a limit on every read and write */

    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1) {
        vt_fail(VT_EXIT_REDIS, "fcntl: %s", strerror(errno));
    }

    return fd;
}


static void
vt_tls_timeout(int fd, int seconds)
{
    struct timeval  tv;

    tv.tv_sec = seconds;
    tv.tv_usec = 0;

    (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}


static int
vt_tls_write_all(int fd, const char *p, size_t n)
{
    ssize_t  w;

    while (n) {
        w = write(fd, p, n);

        if (w == -1 && errno == EINTR) {
            continue;
        }

        if (w <= 0) {
            return -1;
        }

        p += w;
        n -= w;
    }

    return 0;
}


/* waits until the TLS connection can go on after WANT_READ/WANT_WRITE */

static int
vt_tls_wait(vt_tls_pump_t *p, int rc)
{
    struct pollfd  pfd;

    switch (SSL_get_error(p->ssl, rc)) {

    case SSL_ERROR_WANT_READ:
        pfd.events = POLLIN;
        break;

    case SSL_ERROR_WANT_WRITE:
        pfd.events = POLLOUT;
        break;

    default:
        return -1;
    }

    pfd.fd = p->tcp;

    while (poll(&pfd, 1, -1) == -1) {
        if (errno != EINTR) {
            return -1;
        }
    }

    return 0;
}


static void *
vt_tls_pump(void *data)
{
    int             n, w, off;
    char            buf[VT_TLS_BUF];
    struct pollfd   pfd[2];
    vt_tls_pump_t  *p;

    p = data;

    pfd[0].fd = p->local;
    pfd[0].events = POLLIN;
    pfd[1].fd = p->tcp;
    pfd[1].events = POLLIN;

    for ( ;; ) {
        if (poll(pfd, 2, -1) == -1) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }

        /* Redis to hiredis: every record there is (tickets carry none) */

        if (pfd[1].revents) {
            for ( ;; ) {
                n = SSL_read(p->ssl, buf, sizeof(buf));

                if (n <= 0) {
                    if (SSL_get_error(p->ssl, n) == SSL_ERROR_WANT_READ) {
                        break;
                    }
                    goto done;
                }

                if (vt_tls_write_all(p->local, buf, n) != 0) {
                    goto done;
                }
            }
        }

        /* hiredis to Redis */

        if (pfd[0].revents) {
            n = read(p->local, buf, sizeof(buf));

            if (n == -1 && errno == EINTR) {
                continue;
            }

            if (n <= 0) {
                break;
            }

            for (off = 0; off < n; /* void */ ) {
                w = SSL_write(p->ssl, buf + off, n - off);

                if (w > 0) {
                    off += w;
                    continue;
                }

                if (vt_tls_wait(p, w) != 0) {
                    goto done;
                }
            }
        }
    }

done:

    /* hiredis sees the end of the connection */
    shutdown(p->local, SHUT_RDWR);

    return NULL;
}


/*
 * Connects, shakes hands, checks, and returns the local end of the pair
 * for redisConnectFd(); any failure ends the process with exit code 3.
 */

int
vt_tls_connect(const char *host, unsigned port, const char *where,
    int timeout)
{
    int              sp[2], verify, rc, is_ip;
    long             vr;
    X509            *cert;
    SSL_CTX         *ctx;
    pthread_t        tid;
    const char      *ca, *name, *crt, *key, *env;
    unsigned char    addr[16];
    vt_tls_pump_t   *p;

    ca = getenv("VALIDIBOT_REDIS_SSL_TRUSTED_CERTIFICATE");
    name = getenv("VALIDIBOT_REDIS_SSL_SERVER_NAME");
    crt = getenv("VALIDIBOT_REDIS_SSL_CERTIFICATE");
    key = getenv("VALIDIBOT_REDIS_SSL_CERTIFICATE_KEY");
    env = getenv("VALIDIBOT_REDIS_SSL_VERIFY");

    if (name == NULL || *name == '\0') {
        name = host;
    }

    verify = 1;

    if (env && *env) {
        if (strcmp(env, "off") == 0) {
            verify = 0;

        } else if (strcmp(env, "on") != 0) {
            vt_fail(VT_EXIT_USAGE, "VALIDIBOT_REDIS_SSL_VERIFY must be "
                    "\"on\" or \"off\"");
        }
    }

    if ((crt && *crt) != (key && *key)) {
        vt_fail(VT_EXIT_USAGE, "VALIDIBOT_REDIS_SSL_CERTIFICATE and "
                "VALIDIBOT_REDIS_SSL_CERTIFICATE_KEY go together");
    }

    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL
        || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
    {
        vt_fail(VT_EXIT_REDIS, "cannot set up TLS: %s", vt_tls_error());
    }

    if (ca && *ca) {
        if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
            vt_fail(VT_EXIT_USAGE, "cannot load "
                    "VALIDIBOT_REDIS_SSL_TRUSTED_CERTIFICATE \"%s\": %s", ca,
                    vt_tls_error());
        }

    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        vt_fail(VT_EXIT_REDIS, "cannot load the system's CA certificates: "
                "%s", vt_tls_error());
    }

    if (crt && *crt) {
        if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1) {
            vt_fail(VT_EXIT_USAGE, "cannot load "
                    "VALIDIBOT_REDIS_SSL_CERTIFICATE \"%s\": %s", crt,
                    vt_tls_error());
        }

        if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
            vt_fail(VT_EXIT_USAGE, "cannot load "
                    "VALIDIBOT_REDIS_SSL_CERTIFICATE_KEY \"%s\": %s", key,
                    vt_tls_error());
        }
    }

    if (!verify) {
        vt_warn("VALIDIBOT_REDIS_SSL_VERIFY is off: the certificate and the "
                "name of Redis at %s are not checked", where);
    }

    /*
     * A server that drops the connection (a client certificate it did not
     * like) must give an error and exit code 3, not kill the tool with
     * SIGPIPE on the next write.
     */
    signal(SIGPIPE, SIG_IGN);

    p = vt_alloc(sizeof(vt_tls_pump_t));
    p->tcp = vt_tls_tcp(host, port, where, timeout);
    vt_tls_timeout(p->tcp, timeout);

    p->ssl = SSL_new(ctx);
    if (p->ssl == NULL || SSL_set_fd(p->ssl, p->tcp) != 1) {
        vt_fail(VT_EXIT_REDIS, "cannot set up TLS: %s", vt_tls_error());
    }

    /* RFC 6066: no SNI for an address */

    is_ip = inet_pton(AF_INET, name, addr) == 1
            || inet_pton(AF_INET6, name, addr) == 1;

    if (!is_ip && SSL_set_tlsext_host_name(p->ssl, name) != 1) {
        vt_fail(VT_EXIT_REDIS, "cannot set up TLS: %s", vt_tls_error());
    }

    ERR_clear_error();

    rc = SSL_connect(p->ssl);
    if (rc != 1) {
        vt_fail(VT_EXIT_REDIS, "TLS handshake with Redis at %s failed: %s",
                where, vt_tls_error());
    }

    if (verify) {
        vr = SSL_get_verify_result(p->ssl);

        if (vr != X509_V_OK) {
            vt_fail(VT_EXIT_REDIS, "Redis at %s: TLS certificate verify "
                    "error: (%ld:%s)", where, vr,
                    X509_verify_cert_error_string(vr));
        }

        cert = SSL_get_peer_certificate(p->ssl);

        rc = cert != NULL
             && (is_ip ? X509_check_ip_asc(cert, name, 0)
                       : X509_check_host(cert, name, strlen(name), 0, NULL))
                == 1;

        X509_free(cert);

        if (!rc) {
            vt_fail(VT_EXIT_REDIS, "Redis at %s: TLS certificate does not "
                    "match \"%s\"", where, name);
        }
    }

    /* hiredis has its own timeouts on its end of the pair */

    if (fcntl(p->tcp, F_SETFL, fcntl(p->tcp, F_GETFL) | O_NONBLOCK) == -1) {
        vt_fail(VT_EXIT_REDIS, "fcntl: %s", strerror(errno));
    }

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1) {
        vt_fail(VT_EXIT_REDIS, "socketpair: %s", strerror(errno));
    }

    p->local = sp[1];

    if (pthread_create(&tid, NULL, vt_tls_pump, p) != 0
        || pthread_detach(tid) != 0)
    {
        vt_fail(VT_EXIT_REDIS, "cannot start the TLS thread");
    }

    return sp[0];
}
