/*
 * curlmap.c - see curlmap.h.
 */
#define _GNU_SOURCE /* strcasestr */
#include "curlmap.h"

#include <openssl/x509_vfy.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc = CURLE_OK;

static void do_init(void)
{
    init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

rsl_code rsl_curlmap_init(rsl_err *err)
{
    pthread_once(&init_once, do_init);
    if (init_rc != CURLE_OK)
        return rsl_err_set(err, RSL_E_INTERNAL, (long)init_rc, "libcurl init failed: %s",
                           curl_easy_strerror(init_rc));
    return RSL_OK;
}

typedef struct row {
    CURLcode e;
    rsl_code code;
    const char *reason;
} row;

static const row table[] = {
    {CURLE_COULDNT_RESOLVE_HOST, RSL_E_DNS_FAILED, "cannot resolve the host name"},
    {CURLE_COULDNT_RESOLVE_PROXY, RSL_E_DNS_FAILED, "cannot resolve the proxy's name"},
    {CURLE_COULDNT_CONNECT, RSL_E_CONNECT_REFUSED, "cannot connect"},
    {CURLE_OPERATION_TIMEDOUT, RSL_E_TIMEOUT, "no progress within the timeout"},
    {CURLE_SSL_PINNEDPUBKEYNOTMATCH, RSL_E_TLS_UNTRUSTED,
     "the server's TLS key does not match pinned_pubkey"},
    {CURLE_SSL_CACERT_BADFILE, RSL_E_CONFIG_BAD_VALUE, "ca_file cannot be loaded"},
    {CURLE_SSL_CRL_BADFILE, RSL_E_CONFIG_BAD_VALUE, "the CRL file cannot be loaded"},
    {CURLE_SSL_CONNECT_ERROR, RSL_E_TLS_FAILED, "the TLS handshake failed"},
    {CURLE_SSL_CERTPROBLEM, RSL_E_TLS_FAILED, "TLS client certificate problem"},
    {CURLE_SSL_CIPHER, RSL_E_TLS_FAILED, "no common TLS cipher"},
    {CURLE_SSL_SHUTDOWN_FAILED, RSL_E_TLS_FAILED, "the TLS shutdown failed"},
    {CURLE_USE_SSL_FAILED, RSL_E_TLS_FAILED, "the server refused TLS"},
    {CURLE_LOGIN_DENIED, RSL_E_AUTH_FAILED, "the server refused the login"},
    {CURLE_REMOTE_DISK_FULL, RSL_E_REMOTE_NO_SPACE, "remote disk full or quota exceeded"},
    {CURLE_OUT_OF_MEMORY, RSL_E_NO_MEMORY, "out of memory"},
    {CURLE_FTP_WEIRD_PASV_REPLY, RSL_E_PASSIVE_FAILED,
     "passive mode (EPSV/PASV) failed; a firewall may block the server's passive port range"},
    {CURLE_FTP_WEIRD_227_FORMAT, RSL_E_PASSIVE_FAILED,
     "passive mode (EPSV/PASV) failed; a firewall may block the server's passive port range"},
    {CURLE_FTP_CANT_GET_HOST, RSL_E_PASSIVE_FAILED,
     "passive mode (EPSV/PASV) failed; a firewall may block the server's passive port range"},
    {CURLE_FTP_ACCEPT_FAILED, RSL_E_PASSIVE_FAILED,
     "the data connection failed; a firewall may block the server's passive port range"},
    {CURLE_FTP_ACCEPT_TIMEOUT, RSL_E_PASSIVE_FAILED,
     "the data connection failed; a firewall may block the server's passive port range"},
    /* the transfer was cut or aborted mid-way: the connection is gone */
    {CURLE_SEND_ERROR, RSL_E_CONNECTION_LOST, "connection lost while sending"},
    {CURLE_RECV_ERROR, RSL_E_CONNECTION_LOST, "connection lost while receiving"},
    {CURLE_GOT_NOTHING, RSL_E_CONNECTION_LOST, "the server closed the connection"},
    {CURLE_PARTIAL_FILE, RSL_E_CONNECTION_LOST, "the transfer was cut short"},
    {CURLE_UPLOAD_FAILED, RSL_E_CONNECTION_LOST, "the upload failed"},
    {CURLE_HTTP2, RSL_E_CONNECTION_LOST, "HTTP/2 connection failed"},
    {CURLE_HTTP2_STREAM, RSL_E_CONNECTION_LOST, "HTTP/2 stream reset"},
    {CURLE_SEND_FAIL_REWIND, RSL_E_CONNECTION_LOST, "the request could not be sent again"},
    {CURLE_FTP_WEIRD_SERVER_REPLY, RSL_E_CONNECTION_LOST, "unreadable reply on the connection"},
    {CURLE_READ_ERROR, RSL_E_CONNECTION_LOST, "the upload was aborted"},
    {CURLE_WRITE_ERROR, RSL_E_CONNECTION_LOST, "the download was aborted"},
    {CURLE_ABORTED_BY_CALLBACK, RSL_E_CONNECTION_LOST, "the transfer was aborted"},
    /* spelled out although the default says the same */
    {CURLE_UNSUPPORTED_PROTOCOL, RSL_E_PROTOCOL, "protocol not supported by libcurl"},
    {CURLE_WEIRD_SERVER_REPLY, RSL_E_PROTOCOL, "the server's answer cannot be read"},
    {CURLE_BAD_CONTENT_ENCODING, RSL_E_PROTOCOL, "unknown content encoding"},
};

static const row *find(CURLcode e)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].e == e)
            return &table[i];
    return NULL;
}

/* CURLE_PEER_FAILED_VERIFICATION: OpenSSL's verify result says why. */
static rsl_code verify_code(long vr, const char *detail, const char **reason)
{
    if (vr == X509_V_ERR_CERT_HAS_EXPIRED || vr == X509_V_ERR_CERT_NOT_YET_VALID) {
        *reason = "the TLS certificate is expired or not yet valid";
        return RSL_E_TLS_EXPIRED;
    }
    if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH ||
        (detail && (strcasestr(detail, "subject name") || strcasestr(detail, "does not match")))) {
        *reason = "the TLS certificate does not name this host";
        return RSL_E_TLS_NAME_MISMATCH;
    }
    *reason = "the TLS certificate is not trusted (set ca_file, or pin it with pinned_pubkey)";
    return RSL_E_TLS_UNTRUSTED;
}

rsl_code rsl_curlmap_code(CURLcode e, long verify_result, const char *detail)
{
    const char *reason = NULL;
    if (e == CURLE_PEER_FAILED_VERIFICATION)
        return verify_code(verify_result, detail, &reason);
    const row *r = find(e);
    return r ? r->code : RSL_E_PROTOCOL;
}

rsl_code rsl_curlmap_err(rsl_err *err, const rsl_curlmap_ctx *x, CURLcode e, const char *what,
                         const char *item)
{
    const char *detail = x->errbuf && x->errbuf[0] ? x->errbuf : curl_easy_strerror(e);
    const char *host = x->host ? x->host : "?";
    long native = (long)e;
    const char *reason = "unexpected libcurl error";
    rsl_code code;
    if (e == CURLE_PEER_FAILED_VERIFICATION) {
        long vr = 0;
        if (x->h != NULL)
            curl_easy_getinfo(x->h, CURLINFO_SSL_VERIFYRESULT, &vr);
        code = verify_code(vr, detail, &reason);
        native = vr;
    } else {
        const row *r = find(e);
        code = r ? r->code : RSL_E_PROTOCOL;
        if (r != NULL)
            reason = r->reason;
    }
    if (code == RSL_E_NO_MEMORY)
        return rsl_err_set(err, code, native, "out of memory");
    if (code == RSL_E_TIMEOUT)
        return rsl_err_set(err, code, native, "%s '%s' on %s: no progress for %d s: %s", what, item,
                           host, x->timeout_sec, detail);
    return rsl_err_set(err, code, native, "%s '%s' on %s: %s: %s", what, item, host, reason,
                       detail);
}
