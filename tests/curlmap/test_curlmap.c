/* Tests for transports/curlmap: the one CURLcode -> catalog table shared by
 * ftps and https (the cases where the two transports used to disagree are
 * pinned here), and the one curl_global_init. No server. */
#include <criterion/criterion.h>
#include <openssl/x509_vfy.h>
#include <string.h>

#include "transports/curlmap.h"

Test(curlmap, one_table)
{
    cr_assert_eq(rsl_curlmap_code(CURLE_COULDNT_RESOLVE_HOST, 0, NULL), RSL_E_DNS_FAILED);
    cr_assert_eq(rsl_curlmap_code(CURLE_COULDNT_CONNECT, 0, NULL), RSL_E_CONNECT_REFUSED);
    cr_assert_eq(rsl_curlmap_code(CURLE_OPERATION_TIMEDOUT, 0, NULL), RSL_E_TIMEOUT);
    cr_assert_eq(rsl_curlmap_code(CURLE_LOGIN_DENIED, 0, NULL), RSL_E_AUTH_FAILED);
    cr_assert_eq(rsl_curlmap_code(CURLE_SSL_PINNEDPUBKEYNOTMATCH, 0, NULL), RSL_E_TLS_UNTRUSTED);
    cr_assert_eq(rsl_curlmap_code(CURLE_SSL_CONNECT_ERROR, 0, NULL), RSL_E_TLS_FAILED);
    cr_assert_eq(rsl_curlmap_code(CURLE_FTP_WEIRD_PASV_REPLY, 0, NULL), RSL_E_PASSIVE_FAILED);
    cr_assert_eq(rsl_curlmap_code(CURLE_SEND_ERROR, 0, NULL), RSL_E_CONNECTION_LOST);
    cr_assert_eq(rsl_curlmap_code(CURLE_HTTP2_STREAM, 0, NULL), RSL_E_CONNECTION_LOST);
    cr_assert_eq(rsl_curlmap_code(CURLE_OUT_OF_MEMORY, 0, NULL), RSL_E_NO_MEMORY);
    cr_assert_eq(rsl_curlmap_code(CURLE_REMOTE_DISK_FULL, 0, NULL), RSL_E_REMOTE_NO_SPACE);
    /* where ftps and https used to disagree: */
    cr_assert_eq(rsl_curlmap_code(CURLE_SSL_CACERT_BADFILE, 0, NULL), RSL_E_CONFIG_BAD_VALUE,
                 "a ca_file curl cannot load is the operator's to fix");
    cr_assert_eq(rsl_curlmap_code(CURLE_RANGE_ERROR, 0, NULL), RSL_E_PROTOCOL,
                 "a code not in the table is PROTOCOL");
    cr_assert_eq(rsl_curlmap_code((CURLcode)9999, 0, NULL), RSL_E_PROTOCOL);
}

Test(curlmap, certificate_failures_split_by_the_verify_result)
{
    CURLcode e = CURLE_PEER_FAILED_VERIFICATION;
    cr_assert_eq(rsl_curlmap_code(e, X509_V_ERR_CERT_HAS_EXPIRED, ""), RSL_E_TLS_EXPIRED);
    cr_assert_eq(rsl_curlmap_code(e, X509_V_ERR_CERT_NOT_YET_VALID, ""), RSL_E_TLS_EXPIRED);
    cr_assert_eq(rsl_curlmap_code(e, X509_V_ERR_HOSTNAME_MISMATCH, ""), RSL_E_TLS_NAME_MISMATCH);
    cr_assert_eq(rsl_curlmap_code(e, 0, "SSL: no alternative certificate subject name matches"),
                 RSL_E_TLS_NAME_MISMATCH);
    cr_assert_eq(rsl_curlmap_code(e, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, ""),
                 RSL_E_TLS_UNTRUSTED);
}

Test(curlmap, messages_name_operation_item_and_host)
{
    rsl_err err;
    rsl_curlmap_ctx x = {
        .errbuf = "Could not resolve host: no.such", .host = "no.such:443", .timeout_sec = 7};
    cr_assert_eq(rsl_curlmap_err(&err, &x, CURLE_COULDNT_RESOLVE_HOST, "PROPFIND", "a/b"),
                 RSL_E_DNS_FAILED);
    cr_assert(strstr(err.msg, "PROPFIND 'a/b' on no.such:443") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "Could not resolve host") != NULL, "%s", err.msg);
    cr_assert_eq(err.native, CURLE_COULDNT_RESOLVE_HOST);
    x.errbuf = NULL;
    cr_assert_eq(rsl_curlmap_err(&err, &x, CURLE_OPERATION_TIMEDOUT, "upload", "f"), RSL_E_TIMEOUT);
    cr_assert(strstr(err.msg, "7 s") != NULL, "%s", err.msg);
}

Test(curlmap, init_once)
{
    rsl_err err;
    cr_assert_eq(rsl_curlmap_init(&err), RSL_OK);
    cr_assert_eq(rsl_curlmap_init(&err), RSL_OK, "a second call is a no-op");
}
