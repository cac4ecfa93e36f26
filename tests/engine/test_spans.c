/* engine/spans: the upload record's `done` text (parse, format), the set
 * arithmetic the pieces of a big file need, and the piece size. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine/spans.h"

#define MIB (1ull << 20)

static char *fmt(const rsl_spans *s)
{
    char *t = rsl_spans_format(s);
    cr_assert_not_null(t);
    return t;
}

Test(spans, parse_and_format_round_trip)
{
    rsl_spans s;
    rsl_spans_init(&s);
    cr_assert_eq(rsl_spans_parse(&s, "0-100,200-300,400-1000", 1000), 0);
    cr_assert_eq(s.n, 3);
    cr_assert_eq(rsl_spans_bytes(&s), 100 + 100 + 600);
    char *t = fmt(&s);
    cr_assert_str_eq(t, "0-100,200-300,400-1000");
    free(t);
    cr_assert_eq(rsl_spans_parse(&s, "", 1000), 0, "\"\" is the empty set");
    cr_assert_eq(s.n, 0);
    t = fmt(&s);
    cr_assert_str_eq(t, "");
    free(t);
    rsl_spans_free(&s);
}

Test(spans, adjacent_ranges_become_one)
{
    rsl_spans s;
    rsl_spans_init(&s);
    cr_assert_eq(rsl_spans_parse(&s, "0-100,100-200", 1000), 0);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(rsl_spans_add(&s, 300, 400), 0);
    cr_assert_eq(rsl_spans_add(&s, 200, 300), 0, "fills the gap");
    char *t = fmt(&s);
    cr_assert_str_eq(t, "0-400");
    free(t);
    cr_assert_eq(rsl_spans_add(&s, 600, 700), 0);
    cr_assert_eq(rsl_spans_add(&s, 500, 550), 0);
    cr_assert_eq(rsl_spans_add(&s, 350, 650), 0, "one add over three ranges");
    t = fmt(&s);
    cr_assert_str_eq(t, "0-700");
    free(t);
    rsl_spans_free(&s);
}

Test(spans, text_that_is_not_trusted_is_refused)
{
    const char *bad[] = {"x",         "0-",
                         "-5",        "5-5",
                         "9-3",       "0-10,5-20",
                         "10-20,0-5", "0-1001",
                         "0-10,",     "0-10;20-30",
                         " 0-10",     "0-10 ",
                         "+1-5",      "0-99999999999999999999999"};
    rsl_spans s;
    rsl_spans_init(&s);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(rsl_spans_parse(&s, bad[i], 1000), -1, "'%s' accepted", bad[i]);
        cr_assert_eq(s.n, 0, "'%s' left ranges behind", bad[i]);
    }
    rsl_spans_free(&s);
}

Test(spans, remove_splits_and_trims)
{
    rsl_spans s;
    rsl_spans_init(&s);
    cr_assert_eq(rsl_spans_parse(&s, "0-1000,2000-3000", 5000), 0);
    cr_assert_eq(rsl_spans_remove(&s, 100, 200), 0);
    cr_assert_eq(rsl_spans_remove(&s, 900, 2100), 0);
    char *t = fmt(&s);
    cr_assert_str_eq(t, "0-100,200-900,2100-3000");
    free(t);
    cr_assert_eq(rsl_spans_remove(&s, 0, 5000), 0);
    cr_assert_eq(s.n, 0);
    rsl_spans_free(&s);
}

Test(spans, covers)
{
    rsl_spans s;
    rsl_spans_init(&s);
    cr_assert_eq(rsl_spans_parse(&s, "0-100,200-300", 300), 0);
    cr_assert(rsl_spans_covers(&s, 0, 100));
    cr_assert(rsl_spans_covers(&s, 210, 290));
    cr_assert_not(rsl_spans_covers(&s, 50, 250), "a hole in between");
    cr_assert_not(rsl_spans_covers(&s, 0, 300));
    cr_assert_eq(rsl_spans_add(&s, 100, 200), 0);
    cr_assert(rsl_spans_covers(&s, 0, 300));
    rsl_spans_free(&s);
}

Test(spans, piece_size_stays_within_its_bounds)
{
    cr_assert_eq(rsl_spans_piece(256 * MIB, 4), 16 * MIB, "256 MiB over 4: 16 pieces of 16 MiB");
    cr_assert_eq(rsl_spans_piece(100 * MIB, 4), RSL_SPAN_PIECE_MIN, "never under the minimum");
    cr_assert_eq(rsl_spans_piece(100ull << 30, 4), RSL_SPAN_PIECE_MAX, "never over the maximum");
    cr_assert_eq(rsl_spans_piece(1024 * MIB, 8), 32 * MIB);
    cr_assert_eq(rsl_spans_piece(1000 * MIB + 1, 4) % MIB, 0, "a whole number of MiB");
}
