/* Tests for transports/hash: the one string hash (64-bit FNV-1a). */
#include <criterion/criterion.h>
#include <string.h>

#include "transports/hash.h"

Test(hash, fnv1a_reference_values)
{
    /* from the FNV reference test vectors */
    cr_assert_eq(rsl_hash_str(""), 0xcbf29ce484222325ull);
    cr_assert_eq(rsl_hash_str("a"), 0xaf63dc4c8601ec8cull);
    cr_assert_eq(rsl_hash_str("foobar"), 0x85944171f73967e8ull);
    cr_assert_eq(rsl_hash_bytes(RSL_HASH_INIT, "foobar", 6), rsl_hash_str("foobar"));
    cr_assert_eq(rsl_hash_bytes(rsl_hash_bytes(RSL_HASH_INIT, "foo", 3), "bar", 3),
                 rsl_hash_str("foobar"), "continues across pieces");
}
