/* Engine tests on the fake transport: one big file over several connections
 * (engine/ranges.h). Its pieces go to different connections into one temp
 * file, each connection holds one piece at a time, the final name appears
 * once, whole; an interrupted run leaves an upload record listing the
 * pieces written, and the next run checks those (sends nothing for them)
 * and writes only the others; a damaged piece is written again; a cut
 * piece is sent again whole; without RSL_CAP_WRITE_AT a big file is one
 * PUT. Serial (write_range) and pipelined (run()) paths both. */
#include "engine_test.h"

#include <openssl/evp.h>
#include <time.h>

#include "engine/ranges.h"
#include "engine/spans.h"

#define TMP(name) name ".rsl-part"
#define CAPS (RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME)
#define NPIECES 8
#define MAX_LOG 64

/* A job with four connections sending big.bin (8 pieces of 1 MiB). */
static void setup(eng *e, const char *tag, int window)
{
    eng_setup(e, tag);
    if (window > 0)
        rslt_fake_pipeline(window);
    rslt_fake_set_caps(CAPS | RSL_CAP_WRITE_AT);
    e->job.transfers = 4;
    e->job.multi_connection_min = 2 * MIB;
    e->o.piece_size = MIB;
    eng_put_random(e, "big.bin", NPIECES * MIB, 7);
}

/* The record's `done` text of path (a copy), or NULL without a record. */
static char *record_done(eng *e, const char *path)
{
    rsl_state *st = eng_state(e);
    rsl_upload_rec *u = NULL;
    size_t n = 0;
    rsl_err err;
    cr_assert_eq(rsl_state_uploads_load(st, &u, &n, &err), RSL_OK, "%s", err.msg);
    char *done = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(u[i].path, path) == 0)
            done = strdup(u[i].done ? u[i].done : "(null)");
    rsl_uploads_free(u, n);
    rsl_state_close(st);
    return done;
}

/* The manifest's digest of path is the SHA-256 of the local file (taken
 * ahead as pieces complete, finished by the FINISH op). */
static void digest_is_the_files(eng *e, const char *path)
{
    char p[8192];
    snprintf(p, sizeof(p), "%s/%s", e->src, path);
    size_t len = 0;
    char *data = rslt_read(p, &len);
    unsigned char want[32];
    unsigned int wl = 0;
    cr_assert(EVP_Digest(data, len, want, &wl, EVP_sha256(), NULL) == 1);
    free(data);
    rsl_state *st = eng_state(e);
    rsl_manifest_row row;
    cr_assert(rsl_state_manifest_get(st, path, &row));
    cr_assert_not(row.pending);
    cr_assert_eq(row.digest_len, RSL_DIGEST_LEN, "a digest is recorded");
    cr_assert(memcmp(row.digest, want, 32) == 0, "the digest is the whole file's");
    rsl_state_close(st);
}

/* Every piece written by one connection ended before its next one started:
 * a connection holds one piece at a time. */
static void one_piece_per_connection(const rslt_fake_upload *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (i != j && w[i].conn == w[j].conn && w[i].start_seq < w[j].start_seq)
                cr_assert(w[i].end_seq != 0 && w[i].end_seq < w[j].start_seq,
                          "connection %d took the piece at %llu before the one at %llu ended",
                          w[i].conn, (unsigned long long)w[j].offset,
                          (unsigned long long)w[i].offset);
}

/* The first piece's write waits (at most 3 s) until a second piece is
 * being written: as a connection holds one piece at a time, that second
 * piece is on another connection, however the threads are scheduled. */
static void first_piece_waits(void *ud, rslt_fake_op op, const char *rel)
{
    (void)rel;
    int *started = ud;
    if (op != RSLT_FAKE_WRITE_RANGE || __atomic_add_fetch(started, 1, __ATOMIC_SEQ_CST) != 1)
        return;
    for (int i = 0; i < 300 && __atomic_load_n(started, __ATOMIC_SEQ_CST) < 2; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void pieces_over_connections(int window)
{
    eng e;
    setup(&e, "eng-rg1", window);
    int started = 0;
    rslt_fake_on_call(first_piece_waits, &started);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);

    rslt_fake_upload w[MAX_LOG];
    size_t n = rslt_fake_ranges(0, w, MAX_LOG);
    cr_assert_eq(n, NPIECES, "each piece written once (got %zu)", n);
    uint64_t bytes = 0;
    int conns[8] = {0}, used = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(w[i].path, TMP("big.bin"), "into the one temp file");
        cr_assert_eq(w[i].total - w[i].offset, MIB);
        cr_assert_eq(w[i].offset % MIB, 0);
        bytes += w[i].total - w[i].offset;
        if (w[i].conn >= 1 && w[i].conn <= 8 && !conns[w[i].conn - 1]++)
            used++;
    }
    cr_assert_eq(bytes, NPIECES * MIB, "the pieces cover the file once");
    cr_assert_geq(used, 2, "the pieces went over several connections (%d)", used);
    one_piece_per_connection(w, n);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 0, "no whole-file upload");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_FINISH), 1, "renamed once");
    cr_assert(eng_same(&e, "big.bin"), "byte-identical");
    cr_assert_eq(rslt_fake_type(TMP("big.bin")), 0, "no temp left");
    cr_assert_not(eng_upload_rec(&e, "big.bin", NULL), "the record goes once the file is synced");
    const eng_result *r = eng_result_of(&e, "big.bin");
    cr_assert_not_null(r);
    cr_assert_str_eq(r->outcome, "ok");
    digest_is_the_files(&e, "big.bin");
    eng_teardown(&e);
}

Test(engine_ranges, a_big_file_goes_as_pieces_over_several_connections_serial)
{
    pieces_over_connections(0);
}

Test(engine_ranges, a_big_file_goes_as_pieces_over_several_connections_pipelined)
{
    pieces_over_connections(8);
}

/* Cancels the run when the fifth piece starts: a connection takes its
 * second piece only once its first is recorded, so at least one is. */
static void cancel_at_fifth_piece(void *ud, rslt_fake_op op, const char *rel)
{
    (void)rel;
    static int seen;
    if (op == RSLT_FAKE_WRITE_RANGE && __atomic_add_fetch(&seen, 1, __ATOMIC_RELAXED) == 5)
        __atomic_store_n((volatile sig_atomic_t *)ud, 1, __ATOMIC_RELAXED);
}

/* Run 1 is interrupted with pieces written; the second run continues. */
static void interrupted_then_resumed(int window, int damage)
{
    eng e;
    setup(&e, "eng-rg2", window);
    rslt_fake_on_call(cancel_at_fifth_piece, (void *)&e.cancel);
    cr_assert_eq(eng_run(&e), RSL_EXIT_INTERRUPTED, "%s", e.err.msg);
    rslt_fake_upload w1[MAX_LOG], w2[MAX_LOG], c2[MAX_LOG];
    size_t n1 = rslt_fake_ranges(0, w1, MAX_LOG);
    cr_assert_geq(n1, 5);
    cr_assert_lt(n1, NPIECES, "the run stopped feeding pieces");
    cr_assert_eq(rslt_fake_type("big.bin"), 0, "nothing under the final name");
    char *done = record_done(&e, "big.bin");
    cr_assert_not_null(done, "the record survives the interrupted run");
    cr_log_info("done after run 1: %s", done);
    rsl_spans s;
    rsl_spans_init(&s);
    cr_assert_eq(rsl_spans_parse(&s, done, NPIECES * MIB), 0, "'%s'", done);
    uint64_t kept = rsl_spans_bytes(&s);
    cr_assert_geq(kept, MIB, "some pieces are recorded as written");
    for (size_t i = 0; i < s.n; i++)
        cr_assert_lt(s.v[i].off, s.v[i].end);
    uint64_t damaged_at = s.v[0].off + 1000;
    free(done);
    if (damage) {
        size_t len = 0;
        unsigned char *tmp = (unsigned char *)rslt_fake_get(TMP("big.bin"), &len);
        cr_assert(tmp != NULL && len > damaged_at);
        rslt_fake_poke(TMP("big.bin"), damaged_at, (unsigned char)~tmp[damaged_at]);
        free(tmp);
    }

    rslt_fake_on_call(NULL, NULL);
    e.cancel = 0;
    rslt_fake_clear_counts();
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    size_t n2 = rslt_fake_ranges(0, w2, MAX_LOG);
    size_t k2 = rslt_fake_ranges(1, c2, MAX_LOG);
    cr_assert_eq(k2, kept / MIB, "every recorded piece was checked (%zu)", k2);
    uint64_t written = 0;
    for (size_t i = 0; i < n2; i++) {
        written += w2[i].total - w2[i].offset;
        int was_kept = rsl_spans_covers(&s, w2[i].offset, w2[i].total);
        int is_damaged = w2[i].offset <= damaged_at && damaged_at < w2[i].total;
        cr_assert(!was_kept || (damage && is_damaged),
                  "the piece at %llu was recorded and intact, yet written again",
                  (unsigned long long)w2[i].offset);
    }
    cr_assert_eq(written, NPIECES * MIB - kept + (damage ? MIB : 0),
                 "only what was not recorded (and the damaged piece) was sent: %llu",
                 (unsigned long long)written);
    one_piece_per_connection(w2, n2);
    cr_assert(eng_same(&e, "big.bin"), "byte-identical");
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_REMOVE, TMP("big.bin")), 0,
                 "the temp was continued, not removed");
    cr_assert_not(eng_upload_rec(&e, "big.bin", NULL));
    digest_is_the_files(&e, "big.bin");
    rsl_spans_free(&s);
    eng_teardown(&e);
}

Test(engine_ranges, an_interrupted_file_continues_with_the_pieces_not_recorded)
{
    interrupted_then_resumed(0, 0);
}

Test(engine_ranges, an_interrupted_file_continues_pipelined)
{
    interrupted_then_resumed(8, 0);
}

Test(engine_ranges, a_recorded_piece_that_differs_is_written_again)
{
    interrupted_then_resumed(0, 1);
}

Test(engine_ranges, a_cut_piece_is_sent_again_whole_and_nothing_else)
{
    eng e;
    setup(&e, "eng-rg3", 0);
    rslt_fake_cut_after(MIB + MIB / 2, 2); /* two connections drop in their second piece */
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    rslt_fake_upload w[MAX_LOG];
    size_t n = rslt_fake_ranges(0, w, MAX_LOG);
    cr_assert_eq(n, NPIECES + 2, "8 pieces and the 2 cut ones again (got %zu)", n);
    cr_assert(eng_same(&e, "big.bin"), "byte-identical");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_FINISH), 1);
    cr_assert_leq(rslt_fake_calls(RSLT_FAKE_CONNECT), 4 + 2, "at most a reconnect per cut");
    eng_teardown(&e);
}

Test(engine_ranges, without_write_at_a_big_file_is_one_put)
{
    eng e;
    setup(&e, "eng-rg4", 0);
    rslt_fake_set_caps(CAPS);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_ranges(0, NULL, 0), 0);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 1);
    cr_assert(eng_same(&e, "big.bin"));
    eng_teardown(&e);
}

/* A short link (the transport measured 1 ms): one connection's window is
 * not what limits it, so the big file goes whole; the round trip was asked
 * once, on the first connection. A long one (20 ms) cuts it. */
Test(engine_ranges, on_a_short_link_a_big_file_is_one_put)
{
    eng e;
    setup(&e, "eng-rg6", 0);
    rslt_fake_set_rtt(1000);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_rtt_calls(), 1);
    cr_assert_eq(rslt_fake_ranges(0, NULL, 0), 0);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 1);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 1, "one file: one connection");
    cr_assert(eng_same(&e, "big.bin"));
    eng_teardown(&e);

    setup(&e, "eng-rg7", 0);
    rslt_fake_set_rtt(RSL_RANGES_MIN_RTT_US * 4);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_ranges(0, NULL, 0), NPIECES);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 0);
    cr_assert(eng_same(&e, "big.bin"));
    eng_teardown(&e);
}

/* Connections opened ahead: a link not measured yet counts as long, so a
 * big file opens `transfers` of them; the run remembers what it measured,
 * and the next run over a short link opens one (each SSH handshake costs
 * CPU on both ends), over a long one all of them again. */
Test(engine_ranges, the_next_run_opens_what_the_link_it_measured_needs)
{
    long rtts[2] = {1000, RSL_RANGES_MIN_RTT_US * 4};
    int second[2] = {1, 4};
    for (int i = 0; i < 2; i++) {
        eng e;
        setup(&e, i ? "eng-rg-ahead-long" : "eng-rg-ahead-short", 0);
        rslt_fake_set_static_caps(CAPS | RSL_CAP_WRITE_AT);
        rslt_fake_set_rtt(rtts[i]);
        cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
        cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 4, "not measured yet: as a long link");
        eng_put_random(&e, "big.bin", NPIECES * MIB, 8); /* changed: sent again */
        rslt_fake_clear_counts();
        cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
        cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), second[i], "rtt %ld us", rtts[i]);
        cr_assert(eng_same(&e, "big.bin"));
        eng_teardown(&e);
    }
}

/* Without a file big enough to be cut, the round trip is not asked (it may
 * cost one). */
Test(engine_ranges, the_round_trip_is_asked_only_for_a_big_file)
{
    eng e;
    setup(&e, "eng-rg8", 0);
    e.job.multi_connection_min = 64 * MIB;
    rslt_fake_set_rtt(1000);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_rtt_calls(), 0);
    eng_teardown(&e);
}

Test(engine_ranges, a_file_below_the_minimum_is_one_put)
{
    eng e;
    setup(&e, "eng-rg5", 0);
    e.job.multi_connection_min = 64 * MIB;
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_ranges(0, NULL, 0), 0);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 1);
    cr_assert(eng_same(&e, "big.bin"));
    eng_teardown(&e);
}
